-- kind: procedure
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.WeightSnapshots, dbo.WeightSnapshotChunks
-- Record a model's weights as they are now under a name: the chunk map of every tensor (the chunks
-- themselves are shared, never copied). dbo.sp_RestoreWeightSnapshot puts them back.
CREATE OR ALTER PROCEDURE dbo.sp_CreateWeightSnapshot
    @ModelId INT,
    @SnapshotName NVARCHAR(256),
    @TenantId INT = 0,
    @SnapshotId INT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @Message NVARCHAR(2048), @Rows INT;
    IF NOT EXISTS (SELECT 1 FROM dbo.Models WHERE ModelId = @ModelId AND TenantId = @TenantId)
    BEGIN
        SET @Message = CONCAT(N'sp_CreateWeightSnapshot: model ', @ModelId, N' does not exist for tenant ', @TenantId);
        THROW 50301, @Message, 1;
    END;
    IF EXISTS (SELECT 1 FROM dbo.WeightSnapshots WHERE ModelId = @ModelId AND SnapshotName = @SnapshotName)
    BEGIN
        SET @Message = CONCAT(N'sp_CreateWeightSnapshot: model ', @ModelId, N' already has a snapshot named ', @SnapshotName);
        THROW 50302, @Message, 1;
    END;
    BEGIN TRANSACTION;
    INSERT INTO dbo.WeightSnapshots (ModelId, SnapshotName) VALUES (@ModelId, @SnapshotName);
    SET @SnapshotId = SCOPE_IDENTITY();
    INSERT INTO dbo.WeightSnapshotChunks (SnapshotId, TensorId, ChunkIndex, ChunkHash)
    SELECT @SnapshotId, c.TensorId, c.ChunkIndex, c.ChunkHash
    FROM dbo.ModelTensorChunks AS c
    INNER JOIN dbo.ModelTensors AS t ON t.TensorId = c.TensorId
    WHERE t.ModelId = @ModelId;
    SET @Rows = @@ROWCOUNT;
    UPDATE dbo.WeightSnapshots SET ChunkCount = @Rows WHERE SnapshotId = @SnapshotId;
    COMMIT TRANSACTION;
END;
