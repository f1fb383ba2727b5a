-- kind: procedure
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.sp_ApplyWeightMap
-- Put a model's weights back as they were at @AsOf (UTC), from the temporal history of
-- dbo.ModelTensorChunks (seed 003); with @DryRun (the default) only list what would change.
-- Returns one row per tensor that differs (name, chunks changed).
CREATE OR ALTER PROCEDURE dbo.sp_RollbackWeightsToTimestamp
    @ModelId INT,
    @AsOf DATETIME2(7),
    @DryRun BIT = 1,
    @TenantId INT = 0
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Created DATETIME2(3), @Message NVARCHAR(2048);
    SELECT @Created = CreatedAt FROM dbo.Models WHERE ModelId = @ModelId AND TenantId = @TenantId;
    IF @Created IS NULL
    BEGIN
        SET @Message = CONCAT(N'sp_RollbackWeightsToTimestamp: model ', @ModelId, N' does not exist for tenant ', @TenantId);
        THROW 50331, @Message, 1;
    END;
    IF @AsOf IS NULL OR @AsOf < @Created
    BEGIN
        SET @Message = CONCAT(N'sp_RollbackWeightsToTimestamp: model ', @ModelId, N' was ingested at ',
                              CONVERT(NVARCHAR(40), @Created, 126), N'; AsOf must be later');
        THROW 50332, @Message, 1;
    END;
    CREATE TABLE #map (TensorId BIGINT NOT NULL, ChunkIndex INT NOT NULL, ChunkHash BINARY(32) NOT NULL,
                       PRIMARY KEY (TensorId, ChunkIndex));
    INSERT INTO #map (TensorId, ChunkIndex, ChunkHash)
    SELECT c.TensorId, c.ChunkIndex, c.ChunkHash
    FROM dbo.ModelTensorChunks FOR SYSTEM_TIME AS OF @AsOf AS c
    INNER JOIN dbo.ModelTensors AS t ON t.TensorId = c.TensorId
    WHERE t.ModelId = @ModelId;
    EXEC dbo.sp_ApplyWeightMap @ModelId = @ModelId, @DryRun = @DryRun;
END;
