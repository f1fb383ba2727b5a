-- dbo.fn_StoredModelTensors: a stored model's tensors with TensorIndex, and their chunk hashes in
-- chunk order as a JSON array of hex strings; '[]' for a tensor without chunks.
EXEC tSQLt.NewTestClass 'test_fn_StoredModelTensors';
GO

CREATE PROCEDURE test_fn_StoredModelTensors.[test each tensor with its chunk hashes in order]
AS
BEGIN
    DECLARE @ModelId INT, @Hashes NVARCHAR(MAX), @Expected NVARCHAR(MAX), @Rows INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    -- w gets a second chunk ([3, 4]) after its first: the array keeps ChunkIndex order
    INSERT INTO dbo.ModelTensorChunks (TensorId, ChunkIndex, ChunkHash)
    SELECT t.TensorId, 1, HASHBYTES('SHA2_256', 0x0000404000008040)
    FROM dbo.ModelTensors AS t WHERE t.ModelId = @ModelId AND t.TensorName = N'w';
    SELECT @Hashes = ChunkHashes FROM dbo.fn_StoredModelTensors(@ModelId) WHERE TensorName = N'w' AND TensorIndex = 0;
    SET @Expected = CONCAT(N'["', CONVERT(NVARCHAR(64), HASHBYTES('SHA2_256', 0x0000803F00000040), 2), N'","',
                           CONVERT(NVARCHAR(64), HASHBYTES('SHA2_256', 0x0000404000008040), 2), N'"]');
    EXEC tSQLt.AssertEqualsString @Expected = @Expected, @Actual = @Hashes;
    SELECT @Rows = COUNT(*) FROM dbo.fn_StoredModelTensors(@ModelId)
    WHERE TensorName = N'b' AND TensorIndex = 1 AND DType = N'F32' AND Shape = N'[2]' AND ByteSize = 8;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
END;
GO

CREATE PROCEDURE test_fn_StoredModelTensors.[test a tensor without chunks has an empty array]
AS
BEGIN
    DECLARE @ModelId INT, @Hashes NVARCHAR(MAX);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    DELETE c FROM dbo.ModelTensorChunks AS c
    INNER JOIN dbo.ModelTensors AS t ON t.TensorId = c.TensorId
    WHERE t.ModelId = @ModelId AND t.TensorName = N'b';
    SELECT @Hashes = ChunkHashes FROM dbo.fn_StoredModelTensors(@ModelId) WHERE TensorName = N'b';
    EXEC tSQLt.AssertEqualsString @Expected = N'[]', @Actual = @Hashes;
END;
GO
