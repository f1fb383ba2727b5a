-- kind: procedure
-- requires: dbo.AtomEmbeddings, dbo.SpatialLandmarks, dbo.IngestionJobs, hartonomous_ext
-- Fit new landmarks on a random sample of the embeddings of one type (PCA axes for the 3-D point,
-- @BucketCount k-means centres for the vector buckets; by default the square root of the number of
-- embeddings, at most 4096 and at most a quarter of the sample), make them the active set, and
-- recompute every embedding's 3-D point, coarse buckets and vector bucket in batches. Each batch commits, and the
-- job row in dbo.IngestionJobs shows the progress (AtomsProcessed of TotalItems) while it runs.
-- The Python reads its input from session temp tables: no SQL text is built from values.
CREATE OR ALTER PROCEDURE dbo.sp_RecomputeAllSpatialProjections
    @BatchSize INT = 5000,
    @SampleSize INT = 20000,
    @EmbeddingType NVARCHAR(64) = N'all-MiniLM-L6-v2',
    @BucketCount INT = NULL,
    @IngestionJobId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    -- its job row must outlive a failure and it commits on its own: refused inside a caller's
    -- transaction (RAISERROR, not THROW, which under XACT_ABORT would doom the caller's transaction),
    -- and implicit transactions (a driver's autocommit off) are off for its duration
    IF @@TRANCOUNT > 0
    BEGIN
        RAISERROR(N'sp_RecomputeAllSpatialProjections: run it outside a transaction (it commits between batches)', 16, 1);
        RETURN 50100;
    END;
    SET IMPLICIT_TRANSACTIONS OFF;
    SET XACT_ABORT ON;
    DECLARE @Total BIGINT, @Done BIGINT = 0, @LastId BIGINT = 0, @Rows INT;
    DECLARE @LandmarkId INT, @Mean VARBINARY(MAX), @Axes VARBINARY(MAX), @Width FLOAT, @Centroids VARBINARY(MAX);
    DECLARE @Buckets INT, @Fitted INT;
    DECLARE @Message NVARCHAR(MAX);
    IF @BatchSize IS NULL OR @BatchSize < 1 OR @BatchSize > 100000
        THROW 50101, N'sp_RecomputeAllSpatialProjections: BatchSize must be between 1 and 100000', 1;
    IF @SampleSize IS NULL OR @SampleSize < 4
        THROW 50102, N'sp_RecomputeAllSpatialProjections: SampleSize must be at least 4', 1;
    SELECT @Total = COUNT_BIG(*) FROM dbo.AtomEmbeddings WHERE EmbeddingType = @EmbeddingType;
    IF @Total < 4
    BEGIN
        SET @Message = CONCAT(N'sp_RecomputeAllSpatialProjections: ', @Total, N' embeddings of type ', @EmbeddingType,
                              N'; fitting needs at least 4');
        THROW 50103, @Message, 1;
    END;
    SET @Fitted = CASE WHEN @SampleSize < @Total THEN @SampleSize ELSE @Total END;
    SET @Buckets = COALESCE(@BucketCount, (SELECT MIN(v) FROM (VALUES (CAST(ROUND(SQRT(@Total), 0) AS INT)), (4096),
                                                                      (@Fitted / 4)) AS limits (v)));
    IF @Buckets < 1 OR @Buckets > @Fitted
    BEGIN
        SET @Message = CONCAT(N'sp_RecomputeAllSpatialProjections: BucketCount must be between 1 and the sample size (',
                              @Fitted, N')');
        THROW 50104, @Message, 1;
    END;
    INSERT INTO dbo.IngestionJobs (JobType, Status, Source, TotalItems, StartTime, Parameters)
    VALUES (N'spatial-projection', N'Running', @EmbeddingType, @Total, SYSUTCDATETIME(),
            (SELECT @BatchSize AS batch_size, @SampleSize AS sample_size, @Buckets AS bucket_count
             FOR JSON PATH, WITHOUT_ARRAY_WRAPPER));
    SET @IngestionJobId = SCOPE_IDENTITY();
    BEGIN TRY -- (the body keeps its indentation: the Python scripts in it are indentation-sensitive)

    CREATE TABLE #sample (EmbeddingVector VARBINARY(MAX) NOT NULL);
    INSERT INTO #sample (EmbeddingVector)
    SELECT TOP (@SampleSize) EmbeddingVector FROM dbo.AtomEmbeddings WHERE EmbeddingType = @EmbeddingType ORDER BY NEWID();
    -- the fitted vectors come back as hex text (str maps to NVARCHAR; a bytes column's type is guessed)
    CREATE TABLE #fit (MeanHex NVARCHAR(MAX), AxesHex NVARCHAR(MAX), BucketWidth FLOAT,
                       ExplainedVariance FLOAT, SampleSize INT, Dimension INT, CentroidsHex NVARCHAR(MAX),
                       CentroidCount INT);
    INSERT INTO #fit (MeanHex, AxesHex, BucketWidth, ExplainedVariance, SampleSize, Dimension, CentroidsHex, CentroidCount)
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
import pandas as pd
from hartonomous_ext import spatial
fit = spatial.fit(list(InputDataSet["EmbeddingVector"]), buckets)
OutputDataSet = pd.DataFrame([[fit["mean"].hex(), fit["axes"].hex(), fit["bucket_width"], fit["explained_variance"],
                               fit["sample_size"], fit["dimension"],
                               None if fit["centroids"] is None else fit["centroids"].hex(), fit["centroid_count"]]])
',
        @input_data_1 = N'SELECT EmbeddingVector FROM #sample',
        @params = N'@buckets INT',
        @buckets = @Buckets;
    BEGIN TRANSACTION;
    UPDATE dbo.SpatialLandmarks SET IsActive = 0 WHERE IsActive = 1;
    INSERT INTO dbo.SpatialLandmarks (Dimension, MeanVector, Axes, BucketWidth, ExplainedVariance, SampleSize,
                                      Centroids, CentroidCount)
    SELECT Dimension, CONVERT(VARBINARY(MAX), MeanHex, 2), CONVERT(VARBINARY(MAX), AxesHex, 2), BucketWidth,
           ExplainedVariance, SampleSize, CONVERT(VARBINARY(MAX), CentroidsHex, 2), CentroidCount
    FROM #fit;
    SET @LandmarkId = SCOPE_IDENTITY();
    COMMIT TRANSACTION;
    SELECT @Mean = MeanVector, @Axes = Axes, @Width = BucketWidth, @Centroids = Centroids
    FROM dbo.SpatialLandmarks WHERE LandmarkSetId = @LandmarkId;

    CREATE TABLE #batch (AtomEmbeddingId BIGINT PRIMARY KEY, EmbeddingVector VARBINARY(MAX) NOT NULL);
    CREATE TABLE #points (AtomEmbeddingId BIGINT PRIMARY KEY, X FLOAT, Y FLOAT, Z FLOAT,
                          BucketX INT, BucketY INT, BucketZ INT, VectorBucket INT);
    WHILE 1 = 1
    BEGIN
        TRUNCATE TABLE #batch;
        TRUNCATE TABLE #points;
        INSERT INTO #batch (AtomEmbeddingId, EmbeddingVector)
        SELECT TOP (@BatchSize) AtomEmbeddingId, EmbeddingVector FROM dbo.AtomEmbeddings
        WHERE EmbeddingType = @EmbeddingType AND AtomEmbeddingId > @LastId
        ORDER BY AtomEmbeddingId;
        IF @@ROWCOUNT = 0 BREAK;
        INSERT INTO #points (AtomEmbeddingId, X, Y, Z, BucketX, BucketY, BucketZ, VectorBucket)
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
import pandas as pd
from hartonomous_ext import spatial
rows = spatial.project(list(InputDataSet["EmbeddingVector"]), mean, axes, width, centroids)
OutputDataSet = pd.DataFrame([[i, *r] for i, r in zip(InputDataSet["AtomEmbeddingId"], rows)])  # ids stay text
',
            -- ids cross as text: a BIGINT column reaches Python as a float
            @input_data_1 = N'SELECT CAST(AtomEmbeddingId AS VARCHAR(20)) AS AtomEmbeddingId, EmbeddingVector
                              FROM #batch ORDER BY AtomEmbeddingId',
            @params = N'@mean VARBINARY(MAX), @axes VARBINARY(MAX), @width FLOAT, @centroids VARBINARY(MAX)',
            @mean = @Mean, @axes = @Axes, @width = @Width, @centroids = @Centroids;
        SET @Rows = (SELECT COUNT(*) FROM #points);
        BEGIN TRANSACTION;
        UPDATE e
        SET SpatialX = p.X, SpatialY = p.Y, SpatialZ = p.Z,
            SpatialBucketX = p.BucketX, SpatialBucketY = p.BucketY, SpatialBucketZ = p.BucketZ,
            SpatialGeometry = geometry::Point(p.X, p.Y, 0), VectorBucket = p.VectorBucket
        FROM dbo.AtomEmbeddings AS e
        INNER JOIN #points AS p ON p.AtomEmbeddingId = e.AtomEmbeddingId;
        SET @LastId = (SELECT MAX(AtomEmbeddingId) FROM #batch);
        UPDATE dbo.IngestionJobs SET AtomsProcessed = @Done + @Rows WHERE IngestionJobId = @IngestionJobId;
        COMMIT TRANSACTION;
        SET @Done = @Done + @Rows; -- counted once committed: a failed batch is not reported as done
    END;
    UPDATE dbo.IngestionJobs SET Status = N'Completed', EndTime = SYSUTCDATETIME(), AtomsProcessed = @Done
    WHERE IngestionJobId = @IngestionJobId;
    END TRY
    BEGIN CATCH
        -- the job says what happened (batches committed so far stay projected); the error goes on
        SET @Message = ERROR_MESSAGE(); -- whole: a Python traceback ends with the exception
        IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
        UPDATE dbo.IngestionJobs SET Status = N'Failed', EndTime = SYSUTCDATETIME(), AtomsProcessed = @Done,
            ErrorMessage = @Message
        WHERE IngestionJobId = @IngestionJobId;
        SET @Message = LEFT(CONCAT(N'sp_RecomputeAllSpatialProjections: ', @Message), 2047);
        THROW 50105, @Message, 1;
    END CATCH;
END;
