-- kind: function
-- requires: dbo.Models
-- A stored model of the tenant, as hartonomous_ext.model_store reads it back (with
-- dbo.fn_StoredModelTensors and dbo.fn_TensorChunk): the one reader of stored models on SQL Server,
-- for dbo.sp_GenerateEmbedding, dbo.sp_GenerateText and the client's export-model alike.
-- No row: no such model. T-SQL passes every argument of a function: dbo.fn_StoredModel(5, 0).
CREATE OR ALTER FUNCTION dbo.fn_StoredModel (@ModelId INT, @TenantId INT)
RETURNS TABLE
AS
RETURN
    SELECT m.ModelFormat, m.Architecture, m.Config, m.SourceHash, m.FormatSkeleton
    FROM dbo.Models AS m
    WHERE m.ModelId = @ModelId AND m.TenantId = @TenantId;
