"""The numbers both engines' procedures share: limits and search defaults, written once.

The render step (deployer.source.render) reads the plain assignments of this module, without
running it, into the `policy` template variable, so the SQL of each engine says
`{{ policy.MAX_CONTENT_BYTES }}` where it once wrote 268435456 itself; the in-database Python and
the client import it. Only literal assignments belong here.
"""

# sp_IngestAtom: the largest content one atom may hold (256 MiB)
MAX_CONTENT_BYTES = 268435456

# sp_IngestAtoms: one batch is one transaction and one pass through the embedding model
MAX_BATCH_ATOMS = 2000  # SQL Server: each statement stays under the 5,000 locks that escalate to a table lock
MAX_BATCH_BYTES = 67108864  # all contents of a batch together (64 MiB: its JSON, in base64, stays under jsonb's 256 MB);
# a larger content goes alone through sp_IngestAtom
MAX_TEXT_CHARS = 1000000  # text one embedding takes (it reads the first 256 tokens); refuse the absurd
EMBEDDING_BATCH = 32  # texts per onnxruntime run (sentence-transformers' default), sorted by length

# sp_SemanticSearch
MAX_TOP_K = 1000
DEFAULT_PROBES = 8  # bucket probes, at most half the buckets; bench/results/search.md
CANDIDATES_PER_RESULT = 100  # spatial prefilter: top_k * 100 candidates ...
MIN_CANDIDATES = 1000  # ... and at least this many
MAX_CANDIDATES = 200000  # more is an exact scan: use_hybrid 0
EMBEDDING_DIMENSION = 384  # the packaged all-MiniLM-L6-v2
MAX_DIMENSION = 1998  # the seeds' VECTOR(1998)

# the vector index (hartonomous_ext.vector_index): HNSW graphs as pgvector builds them by default
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
HNSW_MIN_EF = 16
TARGET_RECALL = 0.97  # calibration's recall@10 target on held-out stored vectors (the promise is 0.95)
EF_SEARCH_STEPS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
CALIBRATION_QUERIES = 200
GRAPH_MIN_VECTORS = 5000  # below this a type is flat segments only: scanning 5,000 x 384 floats costs about what a graph walk does
FLAT_MERGE_SHARE = 0.05  # flat segments beyond this share of the graph (or GRAPH_MIN_VECTORS) rebuild it
INDEX_CHUNK_BYTES = 16777216  # a stored segment is split into rows of 16 MiB
INDEX_CACHE_BYTES = 4294967296  # loaded segments one session keeps (setting hartonomous.vector_cache_mb)
OVERFETCH = 4  # candidates asked per result, so deleted ones can be dropped
DELTA_MERGE_ROWS = 2000  # sp_IngestAtom merges a tenant's raw delta of a type into a flat segment at this size
PREVIEW_CHARACTERS = 200

# the autonomous loop (hartonomous_ext.autonomy; dbo.AutonomousLoopSettings overrides the first eight)
LOOP_INTERVAL_SECONDS = 900  # between the end of one cycle and the next Analyze (the runbook: every 15-60 min)
LOOP_AUTO_APPROVE_THRESHOLD = 3.0  # sp_Act applies a candidate scoring at least this (0-10) without approval
LOOP_MAX_CHANGES_PER_RUN = 1  # actions one sp_Act applies; more wait for the next cycle
LOOP_VALIDATION_SECONDS = 300  # an applied action is judged no sooner than this ...
LOOP_MIN_VALIDATION_CALLS = 20  # ... and, for a statement-measured action, after this many executions ...
LOOP_MAX_VALIDATION_SECONDS = 86400  # ... or this long, whichever comes first (then judged on what ran)
LOOP_REVERT_TOLERANCE = 0.10  # an action whose metric got more than 10% worse is reverted
LOOP_LOOKBACK_HOURS = 24  # what sp_Analyze reads by default
LOOP_VISIBILITY_SECONDS = 300  # a claimed message reappears if its reader died (pgmq's visibility timeout)
LOOP_MAX_ATTEMPTS = 3  # a message that failed this often goes to dbo.AutonomousLoopDeadLetters
LOOP_DISPATCH_SECONDS = 50  # one pg_cron run drains the queues for at most this long (its schedule is every minute)
LOOP_MIN_TABLE_ROWS = 10000  # smaller tables are scanned whole at no cost worth an index
LOOP_MIN_SEQ_SCANS = 20  # whole-table scans between two cycles that make a table a candidate for an index
LOOP_MIN_INDEX_GAIN = 0.30  # a hypothetical index must cut the statement's estimated cost by this share
LOOP_STALE_STATISTICS_RATIO = 0.20  # rows changed since the last ANALYZE, as a share of the table
LOOP_DEAD_ROWS_RATIO = 0.20  # dead rows as a share of live rows that asks for a VACUUM ...
LOOP_MIN_DEAD_ROWS = 10000  # ... when there are at least this many
LOOP_MIN_INDEX_BYTES = 1048576  # indexes smaller than this are neither dropped nor rebuilt
LOOP_LEAF_DENSITY = 50.0  # a B-tree whose leaf pages are fuller than this (percent) needs no rebuild
LOOP_LATENCY_REGRESSION = 1.5  # recent p95 of a request type against its own baseline p95
LOOP_MIN_REQUESTS = 20  # requests of a type needed on both sides of that comparison
LOOP_REQUEST_RETENTION_DAYS = 90  # InferenceRequests older than this move to InferenceRequests_Archive
LOOP_HISTORY_RETENTION_DAYS = 180  # the loop's own rows (observations, actions, metrics) kept this long
LOOP_REVERT_COOLDOWN_HOURS = 24  # an action reverted on a target is not proposed again for it this soon
LOOP_QUEUE_BACKLOG = 10  # visible messages in one queue that the health check calls a backlog (runbook: <10)
LOOP_ONLINE_LOCK_TIMEOUT_SECONDS = 300  # a concurrent build waits this long for a lock or an older transaction
LOOP_ONLINE_MAX_SECONDS = 3600  # an online action running longer is cancelled (the phases wait for it)
LOOP_RETRY_SECONDS = 5  # a failed phase's message comes back after 5, then 10 seconds
LOOP_REJECTION_COOLDOWN_DAYS = 30  # a rejected action is not proposed again on its target for this long
LOOP_MIN_KEEP_GAIN = 0.10  # a new index that does not cut its statements' time by this much is reverted
LOOP_ARCHIVE_BATCH_ROWS = 50000  # rows one archive action moves (one transaction); more wait for the next cycle
LOOP_RECALL_SAMPLE = 20  # stored embeddings sp_Analyze asks the vector index for, once a day per graph (vector_index.measure_recall) ...
LOOP_RECALL_K = 10  # ... their top 10 against the exact top 10: recall@10, as calibration measures it (TARGET_RECALL) ...
LOOP_RECALL_TOLERANCE = 0.05  # ... recorded as search_recall below TARGET_RECALL minus this (0.92): 200 answers measure
# a recall of 0.97 to about +-0.025 (two standard errors), so a sound index is not flagged by chance
LOOP_RECALL_MAX_EMBEDDINGS = 200000  # embeddings one Analyze measures (their segments are read and each exact scan reads them all:
# about 300 MB at 384 dimensions, a few seconds); a type larger alone is skipped, with a snapshot saying so
LOOP_INDEX_PREFIX = "ix_auto_"  # the names of the indexes the loop creates: a publish leaves them alone

# concept discovery (hartonomous_ext.concepts; fn_DiscoverConcepts, fn_BindConcepts); bench/results/concepts.md
CONCEPT_MIN_CLUSTER_SIZE = 10  # fn_DiscoverConcepts' default @MinClusterSize (the fewest atoms of a dense core) ...
CONCEPT_ATOMS_PER_MIN_CLUSTER = 1500  # ... or one per this many atoms, when more (40 at 60k atoms)
CONCEPT_COHERENCE_THRESHOLD = 0.4  # default @CoherenceThreshold: mean cosine of a concept's atoms to its centroid
CONCEPT_MAX_CONCEPTS = 1000  # default @MaxConcepts (the largest are kept)
CONCEPT_REDUCED_DIMENSIONS = 32  # PCA before the density clustering (0: none)
CONCEPT_PCA_SAMPLE = 20000  # rows the PCA is fitted on
CONCEPT_NEIGHBOURS = 15  # the k-nearest-neighbour graph HDBSCAN's tree is built from
CONCEPT_MIN_SAMPLES = 3  # HDBSCAN's core distance: to the 3rd nearest neighbour
CONCEPT_SELECTION = "leaf"  # HDBSCAN's cluster selection: the leaves of the condensed tree, not excess of mass
CONCEPT_REFINE_ITERATIONS = 10  # spherical k-means rounds from the dense cores' centroids
CONCEPT_MEMBERSHIP_SIMILARITY = 0.3  # an atom joins every concept whose centroid is at least this close (cosine) ...
CONCEPT_MAX_PER_ATOM = 3  # ... at most this many, nearest first (default @MaxConceptsPerAtom)
CONCEPT_KEYWORDS = 10  # c-TF-IDF words kept per concept (the label is the first three)
CONCEPT_TEXT_BYTES = 4096  # the bytes of each atom's text that c-TF-IDF reads for the labels (fn_DiscoverConcepts)
CONCEPT_EVOLUTION_SHARE = 0.5  # runs: concepts are linked when this share of one's atoms is in the other
CONCEPT_GROWTH = 0.2  # a continued concept grew (shrank) when its size changed by this share
CONCEPT_MATCH_SIMILARITY = 0.9  # an old concept whose atoms are all gone continues in a centroid this close
CONCEPT_BIND_LOCK_TIMEOUT_MS = 5000  # SQL Server: a bind waits this long for a discovery run of its type, then skips it
# re-clustering as an action of the autonomous loop (sp_Analyze's concept_drift, the catalog's recluster_concepts):
# the atoms of a type added since its last completed discovery run plus the run's atoms deleted since, as a share
# of the run's atoms (new atoms are bound to the old concepts at ingest, never clustered: a new topic among them
# has no concept of its own until a run) ...
CONCEPT_RECLUSTER_SHARE = 0.2  # ... reaching this share of the run's atoms asks for a run with the previous run's parameters ...
CONCEPT_RECLUSTER_MIN_ATOMS = 10  # ... when at least this many changed (CONCEPT_MIN_CLUSTER_SIZE: fewer cannot make a concept) ...
CONCEPT_RECLUSTER_INTERVAL_HOURS = 24  # ... and the loop proposed none for that tenant and type in this many hours

# the provenance graph (graph.AtomGraphNodes, graph.AtomGraphEdges; README "Provenance graph")
GRAPH_EDGE_TYPES = ("DerivedFrom", "ComponentOf", "SimilarTo")  # the seeds' typed relationships
GRAPH_SIMILAR_THRESHOLD = 0.8  # an ingested atom is SimilarTo an existing one of its tenant and type this close (cosine) ...
GRAPH_SIMILAR_MAX_NEIGHBOURS = 5  # ... at most this many, nearest first (a hub atom does not gather thousands of edges)
GRAPH_MAX_DEPTH = 32  # the deepest a lineage call may walk (@MaxDepth above it is refused)
GRAPH_DEFAULT_DEPTH = 10  # @MaxDepth NULL

# attention and reasoning (hartonomous_ext.generation.AttentionWatch, hartonomous_ext.reasoning)
ATTENTION_TOP_PROMPT_TOKENS = 5  # the prompt positions Attention.AttentionGenerationLog names as most attended
REASONING_MAX_SAMPLES = 32  # sp_SelfConsistencyReasoning's @NumSamples, sp_MultiPathReasoning's @NumPaths: 1 to this
REASONING_MAX_STEPS = 16  # sp_ChainOfThoughtReasoning's @MaxSteps, sp_MultiPathReasoning's @MaxDepth: 1 to this
REASONING_MAX_TOKENS = 64  # the default @MaxTokens of each sample or step (sp_GenerateText's bound, 4096, applies)
REASONING_SELF_CONSISTENCY_TEMPERATURE = 0.8  # sp_SelfConsistencyReasoning's default @Temperature (the original's)
REASONING_STEP_TEMPERATURE = 0.7  # the default @Temperature of a chain-of-thought or multi-path step
REASONING_ANSWER_CHARS = 200  # a normalised answer keeps this many characters (what the vote compares)
# the prompt of step {number} after the steps so far (each "{number}. {text}" on a line of its own, or "(none)")
REASONING_STEP_PROMPT = "{problem}\n\nThink step by step. Steps so far:\n{steps}\nWrite step {number} only."
