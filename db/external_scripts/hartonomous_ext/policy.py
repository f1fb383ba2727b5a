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
