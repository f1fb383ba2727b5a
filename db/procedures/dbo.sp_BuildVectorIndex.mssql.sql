-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomEmbeddings, dbo.VectorIndexSegments, dbo.VectorIndexChunks, dbo.IngestionJobs, hartonomous_ext
-- Build the vector index of each tenant's embedding types (@TenantId / @EmbeddingType NULL: all of
-- them): @Mode 'rebuild' (the default) makes every type one calibrated HNSW graph (flat below
-- {{ policy.GRAPH_MIN_VECTORS }} embeddings; 'graph': a graph whatever the size), 'merge' turns the
-- embeddings added since into a flat segment, 'auto' merges and rebuilds when the flat segments
-- have grown (hartonomous_ext.vector_index.build_action and build_segment, as on PostgreSQL).
-- Each type is one transaction under an application lock per tenant and type; the job row in
-- dbo.IngestionJobs (JobType 'vector-index') shows the progress (types done of TotalItems) and
-- ends Completed, or Failed with the error (types committed before it stay built). Searches go on
-- meanwhile. Run it outside a transaction: it commits each type.
CREATE OR ALTER PROCEDURE dbo.sp_BuildVectorIndex
    @TenantId INT = NULL,
    @EmbeddingType NVARCHAR(64) = NULL,
    @Mode NVARCHAR(16) = N'rebuild',
    @IngestionJobId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    -- it commits each type and its job row must outlive a failure: refused inside a caller's
    -- transaction (RAISERROR, not THROW, which under XACT_ABORT would doom the caller's transaction),
    -- and implicit transactions (a driver's autocommit off) are off for its duration
    SET @IngestionJobId = NULL;  -- an OUTPUT parameter is also an input: never hand back the caller's value
    IF @@TRANCOUNT > 0
    BEGIN
        RAISERROR(N'sp_BuildVectorIndex: run it outside a transaction (it commits each embedding type) (50702)', 16, 1);
        RETURN 50702;
    END;
    SET IMPLICIT_TRANSACTIONS OFF;
    SET XACT_ABORT ON;
    DECLARE @Message NVARCHAR(2048), @Total INT, @Done INT = 0, @Tenant INT, @Type NVARCHAR(64), @Resource NVARCHAR(255);
    DECLARE @LockResult INT;
    DECLARE @Segments NVARCHAR(MAX), @DeltaCount INT, @Action NVARCHAR(16), @Dimensions INT, @Blob VARBINARY(MAX);
    DECLARE @Kind NVARCHAR(8), @Count INT, @EfSearch INT, @Recall FLOAT, @Info NVARCHAR(MAX), @SegmentId BIGINT;
    DECLARE @Offset BIGINT, @Chunk INT, @Problem NVARCHAR(2048), @Summary NVARCHAR(MAX) = N'[]';
    IF @Mode IS NULL OR @Mode NOT IN (N'auto', N'merge', N'rebuild', N'graph')
    BEGIN
        SET @Message = CONCAT(N'sp_BuildVectorIndex: Mode must be ''auto'', ''merge'', ''rebuild'' or ''graph'', not ',
                              COALESCE(@Mode, N'NULL'));
        THROW 50701, @Message, 1;
    END;

    -- what has embeddings, and what has segments left (a type whose embeddings were all deleted)
    CREATE TABLE #targets (TenantId INT NOT NULL, EmbeddingType NVARCHAR(64) COLLATE DATABASE_DEFAULT NOT NULL,
                           PRIMARY KEY (TenantId, EmbeddingType));
    INSERT INTO #targets (TenantId, EmbeddingType)
    SELECT a.TenantId, e.EmbeddingType
    FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
    WHERE (@TenantId IS NULL OR a.TenantId = @TenantId) AND (@EmbeddingType IS NULL OR e.EmbeddingType = @EmbeddingType)
    UNION
    SELECT s.TenantId, s.EmbeddingType FROM dbo.VectorIndexSegments AS s
    WHERE s.IsActive = 1 AND (@TenantId IS NULL OR s.TenantId = @TenantId)
      AND (@EmbeddingType IS NULL OR s.EmbeddingType = @EmbeddingType);
    SET @Total = @@ROWCOUNT;
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, TotalItems, StartTime, Parameters)
    VALUES (COALESCE(@TenantId, 0), N'vector-index', N'Running', COALESCE(@EmbeddingType, N'all embedding types'), @Total,
            SYSUTCDATETIME(), (SELECT @Mode AS mode, @TenantId AS tenant FOR JSON PATH, WITHOUT_ARRAY_WRAPPER));
    SET @IngestionJobId = SCOPE_IDENTITY();

    CREATE TABLE #rows (AtomEmbeddingId BIGINT NOT NULL PRIMARY KEY, Dimension INT NOT NULL, EmbeddingVector VARBINARY(MAX) NOT NULL);
    DECLARE targets CURSOR LOCAL FAST_FORWARD FOR SELECT TenantId, EmbeddingType FROM #targets ORDER BY TenantId, EmbeddingType;
    OPEN targets;
    FETCH NEXT FROM targets INTO @Tenant, @Type;
    BEGIN TRY
        WHILE @@FETCH_STATUS = 0
        BEGIN
            SELECT @Action = NULL, @Kind = NULL, @Count = NULL, @EfSearch = NULL, @Recall = NULL;
            BEGIN TRANSACTION;
            -- the lock name compares exactly; the type follows the collation: one lock per type, any spelling
            SET @Resource = CONCAT(N'hartonomous vector index ', @Tenant, N' ', LOWER(@Type));
            EXEC @LockResult = sys.sp_getapplock @Resource = @Resource, @LockMode = N'Exclusive',
                                                 @LockOwner = N'Transaction', @LockTimeout = -1;
            IF @LockResult < 0  -- a deadlock on an application lock does not roll back: it returns -3
            BEGIN
                SET @Message = CONCAT(N'sp_BuildVectorIndex: could not lock embedding type ', @Type, N' of tenant ',
                                      @Tenant, N' (sp_getapplock returned ', @LockResult, N')');
                THROW 50706, @Message, 1;
            END;
            SET @Segments = (SELECT s.Kind AS kind, s.VectorCount AS [count] FROM dbo.VectorIndexSegments AS s
                             WHERE s.TenantId = @Tenant AND s.EmbeddingType = @Type AND s.IsActive = 1 FOR JSON PATH);
            SET @DeltaCount = (SELECT COUNT(*) FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
                               WHERE e.Indexed = 0 AND e.EmbeddingType = @Type AND a.TenantId = @Tenant);
            EXEC sys.sp_execute_external_script
                @language = N'Python',
                @script = N'
import json
from hartonomous_ext import vector_index
action = vector_index.build_action(mode, [(s["kind"], int(s["count"])) for s in json.loads(segments or "[]")],
                                   delta_count)
',
                @params = N'@mode NVARCHAR(16), @segments NVARCHAR(MAX), @delta_count INT, @action NVARCHAR(16) OUTPUT',
                @mode = @Mode, @segments = @Segments, @delta_count = @DeltaCount, @action = @Action OUTPUT
            WITH RESULT SETS NONE;

            IF @Action <> N'none'
            BEGIN
                TRUNCATE TABLE #rows;
                INSERT INTO #rows (AtomEmbeddingId, Dimension, EmbeddingVector)
                SELECT e.AtomEmbeddingId, e.Dimension, e.EmbeddingVector
                FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
                WHERE e.EmbeddingType = @Type AND a.TenantId = @Tenant AND (@Action <> N'merge' OR e.Indexed = 0);
                SET @Dimensions = (SELECT COUNT(DISTINCT Dimension) FROM #rows);
                IF @Dimensions > 1
                BEGIN
                    SET @Message = CONCAT(N'sp_BuildVectorIndex: embedding type ', @Type, N' of tenant ', @Tenant,
                                          N' has vectors of several dimensions; one type has one dimension');
                    THROW 50703, @Message, 1;
                END;
                IF @Dimensions = 0
                    -- nothing left of the type (all deleted): retire what there was
                    DELETE FROM dbo.VectorIndexSegments WHERE TenantId = @Tenant AND EmbeddingType = @Type AND IsActive = 1;
                ELSE
                BEGIN
                    SELECT @Blob = NULL, @Kind = NULL, @Count = NULL, @EfSearch = NULL, @Recall = NULL, @Info = NULL,
                           @Problem = NULL;
                    -- ids cross as text (a BIGINT column reaches Python as a float); the segment comes back whole
                    EXEC sys.sp_execute_external_script
                        @language = N'Python',
                        @script = N'
import json
import numpy as np
from hartonomous_ext import vector_index
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer
blob, kind, count, ef_search, recall, info, problem = b"", "", 0, 0, 0.0, "{}", ""
try:
    ids = np.asarray([int(i) for i in InputDataSet["AtomEmbeddingId"]], np.int64)
    dimension = int(InputDataSet["Dimension"].iloc[0])
    vectors = vector_index.matrix_from_bytes(b"".join(InputDataSet["EmbeddingVector"]), dimension)
    segment = vector_index.build_segment(action, ids, vectors)
    blob = vector_index.serialize(segment)
    kind, count, ef_search = segment.kind, segment.count, segment.ef_search or 0
    recall, info = float(segment.info.get("calibrated_recall") or 0.0), json.dumps(segment.info)
except Exception as exc:  # named in the job row, not lost in a generic script error
    problem = f"{type(exc).__name__}: {exc}" if not isinstance(exc, vector_index.VectorIndexError) else str(exc)
    problem = problem[:2000]  # @problem holds 2048
',
                        @input_data_1 = N'SELECT CONVERT(VARCHAR(20), AtomEmbeddingId) AS AtomEmbeddingId, Dimension, EmbeddingVector
                                          FROM #rows ORDER BY AtomEmbeddingId',
                        @params = N'@action NVARCHAR(16), @blob VARBINARY(MAX) OUTPUT, @kind NVARCHAR(8) OUTPUT,
                                    @count INT OUTPUT, @ef_search INT OUTPUT, @recall FLOAT OUTPUT,
                                    @info NVARCHAR(MAX) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
                        @action = @Action, @blob = @Blob OUTPUT, @kind = @Kind OUTPUT, @count = @Count OUTPUT,
                        @ef_search = @EfSearch OUTPUT, @recall = @Recall OUTPUT, @info = @Info OUTPUT,
                        @problem = @Problem OUTPUT
                    WITH RESULT SETS NONE;
                    IF NULLIF(@Problem, N'') IS NOT NULL
                    BEGIN
                        SET @Message = CONCAT(N'sp_BuildVectorIndex: ', @Problem);
                        THROW 50704, @Message, 1;
                    END;
                    INSERT INTO dbo.VectorIndexSegments (TenantId, EmbeddingType, Dimension, Kind, VectorCount, ByteSize,
                                                         EfSearch, CalibratedRecall, Parameters)
                    SELECT @Tenant, @Type, MIN(r.Dimension), @Kind, @Count, DATALENGTH(@Blob),
                           CASE WHEN @Kind = N'hnsw' THEN @EfSearch END, CASE WHEN @Kind = N'hnsw' THEN @Recall END, @Info
                    FROM #rows AS r;
                    SET @SegmentId = SCOPE_IDENTITY();
                    SELECT @Offset = 0, @Chunk = 0;
                    WHILE @Offset < DATALENGTH(@Blob)
                    BEGIN
                        INSERT INTO dbo.VectorIndexChunks (SegmentId, ChunkIndex, Data)
                        VALUES (@SegmentId, @Chunk, SUBSTRING(@Blob, @Offset + 1, {{ policy.INDEX_CHUNK_BYTES }}));
                        SELECT @Offset = @Offset + {{ policy.INDEX_CHUNK_BYTES }}, @Chunk = @Chunk + 1;
                    END;
                    SET @Blob = NULL;
                    UPDATE e SET Indexed = 1
                    FROM dbo.AtomEmbeddings AS e INNER JOIN #rows AS r ON r.AtomEmbeddingId = e.AtomEmbeddingId
                    WHERE e.Indexed = 0;
                    IF @Action <> N'merge'
                        DELETE FROM dbo.VectorIndexSegments
                        WHERE TenantId = @Tenant AND EmbeddingType = @Type AND IsActive = 1 AND SegmentId <> @SegmentId;
                END;
            END;
            COMMIT TRANSACTION;
            SET @Done += 1;
            SET @Summary = JSON_MODIFY(@Summary, N'append $', JSON_QUERY((SELECT @Tenant AS tenant, @Type AS [type],
                                       @Action AS action, @Kind AS kind, @Count AS vectors, @EfSearch AS ef_search,
                                       @Recall AS calibrated_recall FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)));
            UPDATE dbo.IngestionJobs
            SET AtomsProcessed = @Done, Parameters = JSON_MODIFY(Parameters, N'$.segments', JSON_QUERY(@Summary))
            WHERE IngestionJobId = @IngestionJobId;
            FETCH NEXT FROM targets INTO @Tenant, @Type;
        END;
    END TRY
    BEGIN CATCH
        IF XACT_STATE() <> 0
            ROLLBACK TRANSACTION;
        SET @Message = ERROR_MESSAGE();
        UPDATE dbo.IngestionJobs
        SET Status = N'Failed', EndTime = SYSUTCDATETIME(), AtomsProcessed = @Done, ErrorMessage = LEFT(@Message, 4000)
        WHERE IngestionJobId = @IngestionJobId;
        IF ERROR_NUMBER() BETWEEN 50700 AND 50799
            THROW;
        SET @Message = CONCAT(N'sp_BuildVectorIndex: ', @Message);
        THROW 50705, @Message, 1;
    END CATCH;
    CLOSE targets;
    DEALLOCATE targets;
    UPDATE dbo.IngestionJobs SET Status = N'Completed', EndTime = SYSUTCDATETIME(), AtomsProcessed = @Done
    WHERE IngestionJobId = @IngestionJobId;
END;
