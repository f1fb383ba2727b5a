-- kind: extension
-- engine-specific: hypothetical indexes (Debian: postgresql-15-hypopg), which sp_Hypothesize costs before it proposes an index; SQL Server's loop reads the missing-index DMVs instead
CREATE EXTENSION IF NOT EXISTS hypopg;
