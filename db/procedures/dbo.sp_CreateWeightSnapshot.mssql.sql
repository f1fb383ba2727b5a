-- kind: procedure
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.WeightSnapshots, dbo.WeightSnapshotChunks, dbo.fn_ResolveTenant, dbo.sp_GraphRecordModel
-- Record the weights of the tenant's model @ModelId, or of all its models (@ModelId NULL, the
-- seeds' default), as they are now under a name unique within the tenant: the chunk map of every
-- tensor (the chunks themselves are shared, never copied). dbo.sp_RestoreWeightSnapshot puts them back.
-- The text parameters are wider than their columns: too long is an error, not a silent truncation.
CREATE OR ALTER PROCEDURE dbo.sp_CreateWeightSnapshot
    @SnapshotName NVARCHAR(4000),
    @ModelId INT = NULL,
    @Description NVARCHAR(4000) = NULL,
    @TenantId INT = NULL,
    @SnapshotId INT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_CreateWeightSnapshot') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    SET @SnapshotId = NULL; -- an OUTPUT parameter is also an input: never answer with the caller's value
    DECLARE @Message NVARCHAR(2048), @Rows INT, @Models INT;
    IF @SnapshotName IS NULL OR LEN(@SnapshotName) = 0 OR LEN(@SnapshotName) > 256
        THROW 50303, N'sp_CreateWeightSnapshot: SnapshotName must be 1 to 256 characters', 1;
    IF LEN(@Description) > 1024
        THROW 50305, N'sp_CreateWeightSnapshot: Description must be at most 1024 characters', 1;
    SELECT @Models = COUNT(*) FROM dbo.Models WHERE TenantId = @TenantId AND (@ModelId IS NULL OR ModelId = @ModelId);
    IF @Models = 0 AND @ModelId IS NULL
    BEGIN
        SET @Message = CONCAT(N'sp_CreateWeightSnapshot: tenant ', @TenantId, N' has no models to snapshot');
        THROW 50304, @Message, 1;
    END;
    IF @Models = 0
    BEGIN
        SET @Message = CONCAT(N'sp_CreateWeightSnapshot: model ', @ModelId, N' does not exist for tenant ', @TenantId);
        THROW 50301, @Message, 1;
    END;
    BEGIN TRANSACTION;
    -- the name is checked under a key-range lock: two sessions creating it at once get 50302, not 2627
    IF EXISTS (SELECT 1 FROM dbo.WeightSnapshots WITH (UPDLOCK, HOLDLOCK)
               WHERE TenantId = @TenantId AND SnapshotName = @SnapshotName)
    BEGIN
        SET @Message = CONCAT(N'sp_CreateWeightSnapshot: tenant ', @TenantId, N' already has a snapshot named ', @SnapshotName);
        THROW 50302, @Message, 1;  -- XACT_ABORT ON: the transaction is rolled back
    END;
    INSERT INTO dbo.WeightSnapshots (TenantId, SnapshotName, ModelId, Description, ModelCount)
    VALUES (@TenantId, @SnapshotName, @ModelId, @Description, @Models);
    SET @SnapshotId = SCOPE_IDENTITY();
    INSERT INTO dbo.WeightSnapshotChunks (SnapshotId, TensorId, ChunkIndex, ChunkHash)
    SELECT @SnapshotId, c.TensorId, c.ChunkIndex, c.ChunkHash
    -- a shared lock on the chunk map until commit: a concurrent sp_UpdateTensor cannot leave the
    -- snapshot with some chunks of a tensor from before it and some from after
    FROM dbo.ModelTensorChunks AS c WITH (TABLOCK, HOLDLOCK)
    INNER JOIN dbo.ModelTensors AS t ON t.TensorId = c.TensorId
    INNER JOIN dbo.Models AS m ON m.ModelId = t.ModelId
    WHERE m.TenantId = @TenantId AND (@ModelId IS NULL OR m.ModelId = @ModelId);
    SET @Rows = @@ROWCOUNT;
    UPDATE dbo.WeightSnapshots SET ChunkCount = @Rows WHERE SnapshotId = @SnapshotId;
    -- the snapshot is a node of the provenance graph, DerivedFrom the weights it recorded
    EXEC dbo.sp_GraphRecordModel @ModelId = NULL, @Operation = N'snapshot', @SnapshotId = @SnapshotId, @TenantId = @TenantId;
    COMMIT TRANSACTION;
END;
