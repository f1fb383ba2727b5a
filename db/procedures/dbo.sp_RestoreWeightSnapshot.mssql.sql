-- kind: procedure
-- requires: dbo.WeightSnapshots, dbo.WeightSnapshotChunks, dbo.sp_ApplyWeightMap, dbo.fn_ResolveTenant
-- Put the weights of the models the tenant's snapshot @SnapshotName covers back as it recorded
-- them; with @DryRun only list what would change. Returns one row per tensor that differs (model
-- name, tensor name, chunks changed).
CREATE OR ALTER PROCEDURE dbo.sp_RestoreWeightSnapshot
    @SnapshotName NVARCHAR(4000),
    @DryRun BIT = 0,
    @TenantId INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_RestoreWeightSnapshot') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @SnapshotId INT, @Message NVARCHAR(2048);
    SELECT @SnapshotId = SnapshotId FROM dbo.WeightSnapshots WHERE SnapshotName = @SnapshotName AND TenantId = @TenantId;
    IF @SnapshotId IS NULL
    BEGIN
        SET @Message = CONCAT(N'sp_RestoreWeightSnapshot: snapshot ''', COALESCE(@SnapshotName, N'NULL'),
                              N''' does not exist for tenant ', @TenantId);
        THROW 50321, @Message, 1;
    END;
    CREATE TABLE #map (TensorId BIGINT NOT NULL, ChunkIndex INT NOT NULL, ChunkHash BINARY(32) NOT NULL,
                       PRIMARY KEY (TensorId, ChunkIndex));
    INSERT INTO #map (TensorId, ChunkIndex, ChunkHash)
    SELECT TensorId, ChunkIndex, ChunkHash FROM dbo.WeightSnapshotChunks WHERE SnapshotId = @SnapshotId;
    SET @DryRun = COALESCE(@DryRun, 0);
    EXEC dbo.sp_ApplyWeightMap @DryRun = @DryRun, @TenantId = @TenantId, @Operation = N'restore', @SnapshotId = @SnapshotId;
END;
