-- kind: extension
-- engine-specific: B-tree leaf density for the loop and sp_RebuildFragmentedIndexes; SQL Server reads sys.dm_db_index_physical_stats
CREATE EXTENSION IF NOT EXISTS pgstattuple;
