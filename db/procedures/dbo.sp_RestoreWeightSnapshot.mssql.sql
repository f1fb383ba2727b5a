-- kind: procedure
-- requires: dbo.WeightSnapshots, dbo.WeightSnapshotChunks, dbo.Models, dbo.sp_ApplyWeightMap
-- Put a model's weights back as a snapshot recorded them; with @DryRun only list what would change.
-- Returns one row per tensor that differs (name, chunks changed).
CREATE OR ALTER PROCEDURE dbo.sp_RestoreWeightSnapshot
    @SnapshotId INT,
    @DryRun BIT = 0,
    @TenantId INT = 0
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @ModelId INT, @Message NVARCHAR(2048);
    SELECT @ModelId = s.ModelId
    FROM dbo.WeightSnapshots AS s
    INNER JOIN dbo.Models AS m ON m.ModelId = s.ModelId
    WHERE s.SnapshotId = @SnapshotId AND m.TenantId = @TenantId;
    IF @ModelId IS NULL
    BEGIN
        SET @Message = CONCAT(N'sp_RestoreWeightSnapshot: snapshot ', @SnapshotId, N' does not exist for tenant ', @TenantId);
        THROW 50321, @Message, 1;
    END;
    CREATE TABLE #map (TensorId BIGINT NOT NULL, ChunkIndex INT NOT NULL, ChunkHash BINARY(32) NOT NULL,
                       PRIMARY KEY (TensorId, ChunkIndex));
    INSERT INTO #map (TensorId, ChunkIndex, ChunkHash)
    SELECT TensorId, ChunkIndex, ChunkHash FROM dbo.WeightSnapshotChunks WHERE SnapshotId = @SnapshotId;
    EXEC dbo.sp_ApplyWeightMap @ModelId = @ModelId, @DryRun = @DryRun;
END;
