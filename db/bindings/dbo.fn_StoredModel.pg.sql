-- kind: function
-- requires: dbo.Models
-- A stored model of the tenant, as hartonomous_ext.model_store reads it back (with
-- dbo.fn_StoredModelTensors and dbo.fn_TensorChunk): the one reader of stored models on PostgreSQL (dbo.fn_StoredModel.mssql.sql on SQL Server),
-- for the in-database bindings and the client's export-model alike. No row: no such model.
CREATE OR REPLACE FUNCTION dbo.fn_StoredModel(ModelId integer, TenantId integer DEFAULT 0)
RETURNS TABLE (ModelFormat text, Architecture text, Config text, SourceHash bytea, FormatSkeleton bytea)
LANGUAGE sql
STABLE
AS $$
    SELECT m.ModelFormat, m.Architecture, m.Config::text, m.SourceHash, m.FormatSkeleton
    FROM dbo.Models m
    WHERE m.ModelId = fn_StoredModel.ModelId AND m.TenantId = fn_StoredModel.TenantId;
$$;
