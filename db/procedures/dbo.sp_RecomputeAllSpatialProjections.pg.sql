-- kind: procedure
-- requires: dbo.AtomEmbeddings, dbo.SpatialLandmarks, dbo.IngestionJobs, dbo.fn_FitSpatialLandmarks, dbo.fn_ProjectEmbeddings
-- Fit new landmarks on a random sample of the embeddings of one type (PCA axes for the 3-D point,
-- BucketCount k-means centres for the vector buckets; by default the square root of the number of
-- embeddings, at most 4096 and at most a quarter of the sample), make them the active set, and
-- recompute every embedding's 3-D point, coarse buckets and vector bucket in batches. Each batch commits, and the
-- job row in dbo.IngestionJobs shows the progress (AtomsProcessed of TotalItems) while it runs,
-- and ends Completed, or Failed with the error (batches committed before it stay projected).
-- CALL it outside an explicit transaction (it commits between batches).
CREATE OR REPLACE PROCEDURE dbo.sp_RecomputeAllSpatialProjections(
    BatchSize integer DEFAULT 5000,
    SampleSize integer DEFAULT 20000,
    EmbeddingType text DEFAULT 'all-MiniLM-L6-v2',
    BucketCount integer DEFAULT NULL,
    INOUT IngestionJobId bigint DEFAULT NULL
)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    landmarks record;
    landmark_id integer;
    total bigint;
    done bigint := 0;
    last_id bigint := 0;
    buckets integer;
    batch_ids bigint[];
    batch_vectors bytea[];
    failure text;
    failure_state text;
BEGIN
    IF BatchSize IS NULL OR BatchSize < 1 OR BatchSize > 100000 THEN
        RAISE EXCEPTION 'sp_RecomputeAllSpatialProjections: BatchSize must be between 1 and 100000' USING ERRCODE = '22023';
    END IF;
    IF SampleSize IS NULL OR SampleSize < 4 THEN
        RAISE EXCEPTION 'sp_RecomputeAllSpatialProjections: SampleSize must be at least 4' USING ERRCODE = '22023';
    END IF;
    SELECT count(*) INTO total FROM dbo.AtomEmbeddings e WHERE e.EmbeddingType = sp_RecomputeAllSpatialProjections.EmbeddingType;
    IF total < 4 THEN
        RAISE EXCEPTION 'sp_RecomputeAllSpatialProjections: % embeddings of type %; fitting needs at least 4',
            total, sp_RecomputeAllSpatialProjections.EmbeddingType USING ERRCODE = '22023';
    END IF;
    buckets := coalesce(BucketCount, least(round(sqrt(total))::integer, 4096, least(SampleSize, total) / 4));
    IF buckets < 1 OR buckets > least(SampleSize, total) THEN
        RAISE EXCEPTION 'sp_RecomputeAllSpatialProjections: BucketCount must be between 1 and the sample size (%)',
            least(SampleSize, total) USING ERRCODE = '22023';
    END IF;
    INSERT INTO dbo.IngestionJobs (JobType, Status, Source, TotalItems, StartTime, Parameters)
    VALUES ('spatial-projection', 'Running', sp_RecomputeAllSpatialProjections.EmbeddingType, total, clock_timestamp(),
            jsonb_build_object('batch_size', BatchSize, 'sample_size', SampleSize, 'bucket_count', buckets))
    RETURNING dbo.IngestionJobs.IngestionJobId INTO sp_RecomputeAllSpatialProjections.IngestionJobId;
    COMMIT;

    -- the Python calls run in blocks that catch their error, so the job can say Failed and commit
    -- (a block with an exception handler cannot hold the COMMITs)
    BEGIN
        SELECT * INTO landmarks FROM dbo.fn_FitSpatialLandmarks(ARRAY(
            SELECT e.EmbeddingVector FROM dbo.AtomEmbeddings e
            WHERE e.EmbeddingType = sp_RecomputeAllSpatialProjections.EmbeddingType
            ORDER BY random() LIMIT SampleSize), buckets);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS failure = MESSAGE_TEXT, failure_state = RETURNED_SQLSTATE;
    END;
    IF failure IS NULL THEN
        UPDATE dbo.SpatialLandmarks SET IsActive = false WHERE IsActive;
        INSERT INTO dbo.SpatialLandmarks (Dimension, MeanVector, Axes, BucketWidth, ExplainedVariance, SampleSize,
                                          Centroids, CentroidCount)
        VALUES (landmarks.Dimension, landmarks.MeanVector, landmarks.Axes, landmarks.BucketWidth,
                landmarks.ExplainedVariance, landmarks.SampleSize, landmarks.Centroids, landmarks.CentroidCount)
        RETURNING LandmarkSetId INTO landmark_id;
        COMMIT;

        LOOP
            SELECT array_agg(e.AtomEmbeddingId ORDER BY e.AtomEmbeddingId), array_agg(e.EmbeddingVector ORDER BY e.AtomEmbeddingId)
            INTO batch_ids, batch_vectors
            FROM (SELECT e.AtomEmbeddingId, e.EmbeddingVector FROM dbo.AtomEmbeddings e
                  WHERE e.EmbeddingType = sp_RecomputeAllSpatialProjections.EmbeddingType AND e.AtomEmbeddingId > last_id
                  ORDER BY e.AtomEmbeddingId LIMIT BatchSize) e;
            EXIT WHEN batch_ids IS NULL;
            BEGIN
                UPDATE dbo.AtomEmbeddings e
                SET SpatialX = p.X, SpatialY = p.Y, SpatialZ = p.Z,
                    SpatialBucketX = p.BucketX, SpatialBucketY = p.BucketY, SpatialBucketZ = p.BucketZ,
                    SpatialGeometry = ST_MakePoint(p.X, p.Y, p.Z), VectorBucket = p.VectorBucket
                FROM dbo.fn_ProjectEmbeddings(batch_vectors, landmarks.MeanVector, landmarks.Axes, landmarks.BucketWidth,
                                              landmarks.Centroids) p
                WHERE e.AtomEmbeddingId = batch_ids[p.Ordinal];
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS failure = MESSAGE_TEXT, failure_state = RETURNED_SQLSTATE;
            END;
            EXIT WHEN failure IS NOT NULL;
            done := done + array_length(batch_ids, 1);
            last_id := batch_ids[array_length(batch_ids, 1)];
            UPDATE dbo.IngestionJobs j SET AtomsProcessed = done WHERE j.IngestionJobId = sp_RecomputeAllSpatialProjections.IngestionJobId;
            COMMIT;
        END LOOP;
    END IF;
    IF failure IS NOT NULL THEN
        UPDATE dbo.IngestionJobs j SET Status = 'Failed', EndTime = clock_timestamp(), AtomsProcessed = done,
            ErrorMessage = left(failure, 4000)
        WHERE j.IngestionJobId = sp_RecomputeAllSpatialProjections.IngestionJobId;
        COMMIT;
        RAISE EXCEPTION 'sp_RecomputeAllSpatialProjections: %', failure USING ERRCODE = failure_state;
    END IF;
    UPDATE dbo.IngestionJobs j SET Status = 'Completed', EndTime = clock_timestamp(), AtomsProcessed = done
    WHERE j.IngestionJobId = sp_RecomputeAllSpatialProjections.IngestionJobId;
    COMMIT;
END
$$;
