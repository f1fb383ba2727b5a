-- dbo.sp_StoreModel: the one writer of a model's rows (the client's ingest-model and sp_IngestModel
-- both end here): a manifest (hartonomous_ext.model_store.manifest) plus the chunk bytes in the
-- session's #chunks. 50411: the manifest is not JSON; 50412: a chunk is neither in #chunks nor stored.
-- The same source hash for the tenant returns the model already stored.
EXEC tSQLt.NewTestClass 'test_sp_StoreModel';
GO

CREATE PROCEDURE test_sp_StoreModel.Manifest
    @Manifest NVARCHAR(MAX) OUTPUT
AS
BEGIN
    SET @Manifest = N'{"model": {"name": "tsqlt-stored", "format": "safetensors", "architecture": "fixture",
        "parameter_count": 2, "config": "{}", "tensor_count": 1, "total_bytes": 8,
        "source_hash": "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB", "skeleton": null},
      "layers": [{"index": 0, "name": "l0", "type": "linear", "parameter_count": 2}],
      "tensors": [{"index": 0, "name": "w", "dtype": "F32", "shape": "[2]", "element_count": 2, "byte_size": 8,
        "layer_index": 0, "sha256": "B9C80B5ADECA450753A16950C3CC655D271F7BEF7A485BC83F112B72FEF21D37",
        "chunks": ["B9C80B5ADECA450753A16950C3CC655D271F7BEF7A485BC83F112B72FEF21D37"]}]}';
END;
GO

CREATE PROCEDURE test_sp_StoreModel.[test a manifest and its chunk become the model's rows]
AS
BEGIN
    DECLARE @Manifest NVARCHAR(MAX), @ModelId INT, @Rows INT, @Chunk BINARY(32), @Data VARBINARY(8000);
    EXEC test_sp_StoreModel.Manifest @Manifest = @Manifest OUTPUT;
    CREATE TABLE #chunks (ChunkHash BINARY(32) NOT NULL, ByteSize INT NOT NULL, Data VARBINARY(MAX) NOT NULL);
    INSERT INTO #chunks VALUES (HASHBYTES('SHA2_256', 0x0000803F00000040), 8, 0x0000803F00000040),
                               (HASHBYTES('SHA2_256', 0x0000803F00000040), 8, 0x0000803F00000040);
    EXEC dbo.sp_StoreModel @Manifest = @Manifest, @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    SELECT @Rows = COUNT(*) FROM dbo.Models
    WHERE ModelId = @ModelId AND TenantId = 424242 AND ModelName = N'tsqlt-stored' AND TensorCount = 1;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
    SELECT @Chunk = c.ChunkHash, @Data = k.Data
    FROM dbo.ModelTensors AS t
    INNER JOIN dbo.ModelLayers AS l ON l.LayerId = t.LayerId AND l.LayerName = N'l0'
    INNER JOIN dbo.ModelTensorChunks AS c ON c.TensorId = t.TensorId AND c.ChunkIndex = 0
    INNER JOIN dbo.TensorChunks AS k ON k.ChunkHash = c.ChunkHash
    WHERE t.ModelId = @ModelId AND t.TensorName = N'w' AND t.Shape = N'[2]';
    EXEC tSQLt.AssertEquals @Expected = 0x0000803F00000040, @Actual = @Data;
    -- the same chunk twice in #chunks is stored once
    SELECT @Rows = COUNT(*) FROM dbo.TensorChunks WHERE ChunkHash = @Chunk;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
END;
GO

CREATE PROCEDURE test_sp_StoreModel.[test the same source hash returns the stored model]
AS
BEGIN
    DECLARE @Manifest NVARCHAR(MAX), @First INT, @Again INT = -1, @Rows INT;
    EXEC test_sp_StoreModel.Manifest @Manifest = @Manifest OUTPUT;
    CREATE TABLE #chunks (ChunkHash BINARY(32) NOT NULL, ByteSize INT NOT NULL, Data VARBINARY(MAX) NOT NULL);
    INSERT INTO #chunks VALUES (HASHBYTES('SHA2_256', 0x0000803F00000040), 8, 0x0000803F00000040);
    EXEC dbo.sp_StoreModel @Manifest = @Manifest, @TenantId = 424242, @ModelId = @First OUTPUT;
    EXEC dbo.sp_StoreModel @Manifest = @Manifest, @TenantId = 424242, @ModelId = @Again OUTPUT;
    SELECT @Rows = COUNT(*) FROM dbo.Models WHERE TenantId = 424242 AND ModelName = N'tsqlt-stored';
    EXEC tSQLt.AssertEquals @Expected = @First, @Actual = @Again;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
END;
GO

CREATE PROCEDURE test_sp_StoreModel.[test a manifest that is not JSON is refused (50411)]
AS
BEGIN
    DECLARE @ModelId INT;
    CREATE TABLE #chunks (ChunkHash BINARY(32) NOT NULL, ByteSize INT NOT NULL, Data VARBINARY(MAX) NOT NULL);
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50411, @ExpectedMessagePattern = '%not JSON%';
    EXEC dbo.sp_StoreModel @Manifest = N'{"model": ', @TenantId = 424242, @ModelId = @ModelId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_StoreModel.[test a chunk neither sent nor stored is refused (50412) and nothing is written]
AS
BEGIN
    DECLARE @Manifest NVARCHAR(MAX), @ModelId INT;
    EXEC test_sp_StoreModel.Manifest @Manifest = @Manifest OUTPUT;
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable 'dbo.TensorChunks';
    CREATE TABLE #chunks (ChunkHash BINARY(32) NOT NULL, ByteSize INT NOT NULL, Data VARBINARY(MAX) NOT NULL);
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50412, @ExpectedMessagePattern = '%1 chunks the manifest names%';
    EXEC dbo.sp_StoreModel @Manifest = @Manifest, @TenantId = 424242, @ModelId = @ModelId OUTPUT;
END;
GO
