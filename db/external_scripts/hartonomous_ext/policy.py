"""The numbers both engines' procedures share: limits and search defaults, written once.

The render step (deployer.source.render) reads the plain assignments of this module, without
running it, into the `policy` template variable, so the SQL of each engine says
`{{ policy.MAX_CONTENT_BYTES }}` where it once wrote 268435456 itself; the in-database Python and
the client import it. Only literal assignments belong here.
"""

# sp_IngestAtom: the largest content one atom may hold (256 MiB)
MAX_CONTENT_BYTES = 268435456

# sp_SemanticSearch
MAX_TOP_K = 1000
DEFAULT_PROBES = 8  # bucket probes, at most half the buckets; bench/results/search.md
CANDIDATES_PER_RESULT = 100  # spatial prefilter: top_k * 100 candidates ...
MIN_CANDIDATES = 1000  # ... and at least this many
MAX_CANDIDATES = 200000  # more is an exact scan: use_hybrid 0
EMBEDDING_DIMENSION = 384  # the packaged all-MiniLM-L6-v2
PREVIEW_CHARACTERS = 200
