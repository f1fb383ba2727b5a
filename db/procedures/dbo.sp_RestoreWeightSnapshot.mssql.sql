-- kind: procedure
-- requires: dbo.WeightSnapshots, dbo.WeightSnapshotChunks, dbo.sp_ApplyWeightMap
-- Put the weights of the models the tenant's snapshot @SnapshotName covers back as it recorded
-- them; with @DryRun only list what would change. Returns one row per tensor that differs (model
-- name, tensor name, chunks changed).
CREATE OR ALTER PROCEDURE dbo.sp_RestoreWeightSnapshot
    @SnapshotName NVARCHAR(4000),
    @DryRun BIT = 0,
    @TenantId INT = 0
AS
BEGIN
    SET NOCOUNT ON;
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
    EXEC dbo.sp_ApplyWeightMap @DryRun = @DryRun;
END;
