-- kind: procedure
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.sp_ApplyWeightMap, dbo.fn_ResolveTenant
-- Put the weights of the tenant's model @ModelId, or of all its models (@ModelId NULL: those that
-- existed at @TargetDateTime), back as they were at @TargetDateTime (UTC), from the temporal
-- history of dbo.ModelTensorChunks (seed 003); with @DryRun (the default) only list what would
-- change. Returns one row per tensor that differs (model name, tensor name, chunks changed).
CREATE OR ALTER PROCEDURE dbo.sp_RollbackWeightsToTimestamp
    @TargetDateTime DATETIME2(7),
    @ModelId INT = NULL,
    @DryRun BIT = 1,
    @TenantId INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_RollbackWeightsToTimestamp') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @Ingested DATETIME2(3), @Message NVARCHAR(2048);
    IF @TargetDateTime IS NULL
        THROW 50333, N'sp_RollbackWeightsToTimestamp: give TargetDateTime', 1;
    IF @ModelId IS NOT NULL
    BEGIN
        SELECT @Ingested = IngestionDate FROM dbo.Models WHERE ModelId = @ModelId AND TenantId = @TenantId;
        IF @Ingested IS NULL
        BEGIN
            SET @Message = CONCAT(N'sp_RollbackWeightsToTimestamp: model ', @ModelId, N' does not exist for tenant ', @TenantId);
            THROW 50331, @Message, 1;
        END;
        IF @TargetDateTime < @Ingested
        BEGIN
            SET @Message = CONCAT(N'sp_RollbackWeightsToTimestamp: model ', @ModelId, N' was ingested at ',
                                  CONVERT(NVARCHAR(40), @Ingested, 126), N'; TargetDateTime must be later');
            THROW 50332, @Message, 1;
        END;
    END;
    CREATE TABLE #map (TensorId BIGINT NOT NULL, ChunkIndex INT NOT NULL, ChunkHash BINARY(32) NOT NULL,
                       PRIMARY KEY (TensorId, ChunkIndex));
    INSERT INTO #map (TensorId, ChunkIndex, ChunkHash)
    SELECT c.TensorId, c.ChunkIndex, c.ChunkHash
    FROM dbo.ModelTensorChunks FOR SYSTEM_TIME AS OF @TargetDateTime AS c
    INNER JOIN dbo.ModelTensors AS t ON t.TensorId = c.TensorId
    INNER JOIN dbo.Models AS m ON m.ModelId = t.ModelId
    WHERE m.TenantId = @TenantId AND m.IngestionDate <= @TargetDateTime AND (@ModelId IS NULL OR m.ModelId = @ModelId);
    SET @DryRun = COALESCE(@DryRun, 1);
    EXEC dbo.sp_ApplyWeightMap @DryRun = @DryRun, @TenantId = @TenantId, @Operation = N'rollback',
        @SourceTime = @TargetDateTime;
END;
