-- kind: procedure
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.TensorChunks, dbo.sp_GraphRecordModel
-- engine-specific: PostgreSQL applies the map in dbo.fn_ApplyWeightMap (a function: its callers return rows)
-- Map the tensors in the caller's #map (TensorId, ChunkIndex, ChunkHash; the callers fill it for the
-- models they cover) to its chunks, or with @DryRun only say what would change. Returns one row
-- per tensor that differs (model name, tensor name, chunks changed); changed tensors get their
-- SHA-256 recomputed. Called by
-- dbo.sp_RestoreWeightSnapshot and dbo.sp_RollbackWeightsToTimestamp, which name themselves in
-- @Operation ('restore' with @SnapshotId, 'rollback' with @SourceTime): each model whose weights
-- changed becomes a new version in the provenance graph in the same transaction (dbo.sp_GraphRecordModel).
CREATE OR ALTER PROCEDURE dbo.sp_ApplyWeightMap
    @DryRun BIT,
    @TenantId INT = NULL,
    @Operation NVARCHAR(16) = NULL,
    @SnapshotId INT = NULL,
    @SourceTime DATETIME2(7) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @TensorId BIGINT, @Index INT, @Count INT, @Data VARBINARY(MAX), @Piece VARBINARY(MAX);
    CREATE TABLE #diff (TensorId BIGINT PRIMARY KEY, ChunksChanged INT NOT NULL);
    INSERT INTO #diff (TensorId, ChunksChanged)
    SELECT c.TensorId, COUNT(*)
    FROM dbo.ModelTensorChunks AS c
    INNER JOIN #map AS m ON m.TensorId = c.TensorId AND m.ChunkIndex = c.ChunkIndex
    WHERE m.ChunkHash <> c.ChunkHash
    GROUP BY c.TensorId;
    IF @DryRun = 0
    BEGIN
        BEGIN TRANSACTION;
        UPDATE c SET ChunkHash = m.ChunkHash
        FROM dbo.ModelTensorChunks AS c
        INNER JOIN #map AS m ON m.TensorId = c.TensorId AND m.ChunkIndex = c.ChunkIndex
        INNER JOIN #diff AS d ON d.TensorId = c.TensorId
        WHERE m.ChunkHash <> c.ChunkHash;
        -- a tensor's SHA-256 is over its whole bytes: put them together chunk by chunk
        DECLARE changed CURSOR LOCAL FAST_FORWARD FOR SELECT TensorId FROM #diff;
        OPEN changed;
        FETCH NEXT FROM changed INTO @TensorId;
        WHILE @@FETCH_STATUS = 0
        BEGIN
            SET @Data = CAST('' AS VARBINARY(MAX));
            SET @Index = 0;
            SELECT @Count = COUNT(*) FROM dbo.ModelTensorChunks WHERE TensorId = @TensorId;
            WHILE @Index < @Count
            BEGIN
                SELECT @Piece = k.Data
                FROM dbo.ModelTensorChunks AS c
                INNER JOIN dbo.TensorChunks AS k ON k.ChunkHash = c.ChunkHash
                WHERE c.TensorId = @TensorId AND c.ChunkIndex = @Index;
                SET @Data = @Data + @Piece;
                SET @Index = @Index + 1;
            END;
            UPDATE dbo.ModelTensors SET Sha256 = HASHBYTES('SHA2_256', @Data) WHERE TensorId = @TensorId;
            FETCH NEXT FROM changed INTO @TensorId;
        END;
        CLOSE changed;
        DEALLOCATE changed;
        IF @Operation IS NOT NULL
        BEGIN
            DECLARE @Model INT = (SELECT MIN(t.ModelId) FROM #diff AS d INNER JOIN dbo.ModelTensors AS t ON t.TensorId = d.TensorId);
            WHILE @Model IS NOT NULL
            BEGIN
                EXEC dbo.sp_GraphRecordModel @ModelId = @Model, @Operation = @Operation, @SnapshotId = @SnapshotId,
                    @SourceTime = @SourceTime, @TenantId = @TenantId;
                SET @Model = (SELECT MIN(t.ModelId) FROM #diff AS d INNER JOIN dbo.ModelTensors AS t ON t.TensorId = d.TensorId
                              WHERE t.ModelId > @Model);
            END;
        END;
        COMMIT TRANSACTION;
    END;
    SELECT m.ModelName, t.TensorName, d.ChunksChanged
    FROM #diff AS d
    INNER JOIN dbo.ModelTensors AS t ON t.TensorId = d.TensorId
    INNER JOIN dbo.Models AS m ON m.ModelId = t.ModelId
    ORDER BY t.ModelId, t.TensorIndex;
END;
