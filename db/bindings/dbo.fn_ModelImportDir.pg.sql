-- kind: function
-- requires: dbo
-- engine-specific: SQL Server reads model files through its own server-side file permissions
-- The server folder dbo.sp_IngestModel may read model files from: the setting
-- hartonomous.model_import_dir as the server's configuration files have it (pg_file_settings), so
-- a session's own SET cannot point it elsewhere. NULL when it is not configured.
-- SECURITY DEFINER: callers need not read pg_file_settings themselves.
CREATE OR REPLACE FUNCTION dbo.fn_ModelImportDir()
RETURNS text
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT nullif(setting, '') FROM pg_catalog.pg_file_settings
    WHERE name = 'hartonomous.model_import_dir' AND error IS NULL
    ORDER BY seqno DESC LIMIT 1
$$;
