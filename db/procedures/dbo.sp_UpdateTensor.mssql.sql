-- kind: procedure
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.TensorChunks, dbo.fn_ResolveTenant, dbo.sp_GraphRecordModel
-- Change a tensor's weights: @Data (the tensor's new bytes, the same size as before) is cut into
-- 1 MiB chunks, stored content-addressed, and the tensor is mapped to them; only the chunks that
-- differ change. System versioning keeps the old mapping, so the change can be rolled back
-- (dbo.sp_RestoreWeightSnapshot, dbo.sp_RollbackWeightsToTimestamp).
CREATE OR ALTER PROCEDURE dbo.sp_UpdateTensor
    @ModelId INT,
    @TensorName NVARCHAR(512),
    @Data VARBINARY(MAX),
    @TenantId INT = NULL,
    @ChunksChanged INT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_UpdateTensor') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @Chunk INT = 1048576, @TensorId BIGINT, @ByteSize BIGINT, @Index INT = 0, @Message NVARCHAR(2048);
    SELECT @TensorId = t.TensorId, @ByteSize = t.ByteSize
    FROM dbo.ModelTensors AS t
    INNER JOIN dbo.Models AS m ON m.ModelId = t.ModelId
    WHERE t.ModelId = @ModelId AND t.TensorName = @TensorName AND m.TenantId = @TenantId;
    IF @TensorId IS NULL
    BEGIN
        SET @Message = CONCAT(N'sp_UpdateTensor: model ', @ModelId, N' of tenant ', @TenantId, N' has no tensor ', @TensorName);
        THROW 50311, @Message, 1;
    END;
    IF @Data IS NULL OR DATALENGTH(@Data) <> @ByteSize
    BEGIN
        SET @Message = CONCAT(N'sp_UpdateTensor: tensor ', @TensorName, N' has ', @ByteSize, N' bytes; the new data has ',
                              COALESCE(DATALENGTH(@Data), 0));
        THROW 50312, @Message, 1;
    END;
    CREATE TABLE #pieces (ChunkIndex INT PRIMARY KEY, ChunkHash BINARY(32) NOT NULL, Piece VARBINARY(MAX) NOT NULL);
    WHILE CAST(@Index AS BIGINT) * @Chunk < @ByteSize
    BEGIN
        INSERT INTO #pieces (ChunkIndex, ChunkHash, Piece)
        SELECT @Index, HASHBYTES('SHA2_256', p.Piece), p.Piece
        FROM (SELECT SUBSTRING(@Data, @Index * @Chunk + 1, @Chunk) AS Piece) AS p;
        SET @Index = @Index + 1;
    END;
    BEGIN TRANSACTION;
    -- identical pieces (zeroed weights) have one hash: NOT EXISTS does not dedupe its own source
    INSERT INTO dbo.TensorChunks (ChunkHash, ByteSize, Data)
    SELECT p.ChunkHash, DATALENGTH(p.Piece), p.Piece
    FROM (SELECT ChunkHash, Piece, ROW_NUMBER() OVER (PARTITION BY ChunkHash ORDER BY ChunkIndex) AS Copy
          FROM #pieces) AS p
    WHERE p.Copy = 1
      AND NOT EXISTS (SELECT 1 FROM dbo.TensorChunks AS k WITH (UPDLOCK, HOLDLOCK) WHERE k.ChunkHash = p.ChunkHash);
    UPDATE c SET ChunkHash = p.ChunkHash
    FROM dbo.ModelTensorChunks AS c
    INNER JOIN #pieces AS p ON p.ChunkIndex = c.ChunkIndex
    WHERE c.TensorId = @TensorId AND c.ChunkHash <> p.ChunkHash;
    SET @ChunksChanged = @@ROWCOUNT;
    UPDATE dbo.ModelTensors SET Sha256 = HASHBYTES('SHA2_256', @Data) WHERE TensorId = @TensorId;
    -- a change that altered a chunk is a new version of the model in the provenance graph
    IF @ChunksChanged > 0
        EXEC dbo.sp_GraphRecordModel @ModelId = @ModelId, @Operation = N'update', @TenantId = @TenantId;
    COMMIT TRANSACTION;
END;
