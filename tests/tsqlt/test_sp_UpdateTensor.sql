-- dbo.sp_UpdateTensor: new bytes for a tensor (the same size), stored as content-addressed chunks;
-- only the chunks that differ change; the tensor's SHA-256 follows. 50311: no such tensor for the
-- tenant; 50312: the data is not the tensor's size. Fixture: test_fixtures.CreateModel.
EXEC tSQLt.NewTestClass 'test_sp_UpdateTensor';
GO

CREATE PROCEDURE test_sp_UpdateTensor.[test new bytes map the tensor to their chunk and rehash it]
AS
BEGIN
    DECLARE @ModelId INT, @Changed INT, @Hash BINARY(32), @Sha BINARY(32), @Stored INT;
    DECLARE @New VARBINARY(8) = 0x0000E0400000F040, @Expected BINARY(32);
    SET @Expected = HASHBYTES('SHA2_256', @New);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = @New, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;
    SET @Hash = test_fixtures.ChunkHash(@ModelId, N'w');
    SELECT @Sha = Sha256 FROM dbo.ModelTensors WHERE ModelId = @ModelId AND TensorName = N'w';
    SELECT @Stored = COUNT(*) FROM dbo.TensorChunks WHERE ChunkHash = @Expected AND Data = @New AND ByteSize = 8;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Changed;
    EXEC tSQLt.AssertEquals @Expected = @Expected, @Actual = @Hash;
    EXEC tSQLt.AssertEquals @Expected = @Expected, @Actual = @Sha;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Stored;
END;
GO

CREATE PROCEDURE test_sp_UpdateTensor.[test the same bytes change no chunk and leave the other tensor alone]
AS
BEGIN
    DECLARE @ModelId INT, @Changed INT, @Other BINARY(32), @Bias BINARY(32) = HASHBYTES('SHA2_256', 0x0000A0400000C040);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = 0x0000803F00000040, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;
    SET @Other = test_fixtures.ChunkHash(@ModelId, N'b');
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Changed;
    EXEC tSQLt.AssertEquals @Expected = @Bias, @Actual = @Other;
END;
GO

CREATE PROCEDURE test_sp_UpdateTensor.[test a tensor the model does not have is refused (50311)]
AS
BEGIN
    DECLARE @ModelId INT, @Changed INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50311, @ExpectedMessagePattern = '%has no tensor nope%';
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'nope', @Data = 0x0000E0400000F040, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_UpdateTensor.[test another tenant's model is refused (50311)]
AS
BEGIN
    DECLARE @ModelId INT, @Changed INT;
    EXEC test_fixtures.CreateModel @TenantId = 424243, @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50311;
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = 0x0000E0400000F040, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_UpdateTensor.[test data of another size is refused (50312)]
AS
BEGIN
    DECLARE @ModelId INT, @Changed INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50312, @ExpectedMessagePattern = '%has 8 bytes; the new data has 4%';
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = 0x0000E040, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_UpdateTensor.[test NULL data is refused (50312)]
AS
BEGIN
    DECLARE @ModelId INT, @Changed INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50312;
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = NULL, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;
END;
GO
