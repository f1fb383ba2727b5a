-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomEmbeddings, dbo.VectorIndexSegments, dbo.IngestionJobs, dbo.fn_BuildVectorSegment
-- Build the vector index of each tenant's embedding types (TenantId / EmbeddingType NULL: all of
-- them): Mode 'rebuild' (the default) makes every type one calibrated HNSW graph (flat below
-- policy.GRAPH_MIN_VECTORS embeddings; 'graph': a graph whatever the size), 'merge' turns the
-- embeddings added since into a flat segment, 'auto' merges and rebuilds when the flat segments
-- have grown (dbo.fn_BuildVectorSegment).
-- Each type commits on its own; the job row in dbo.IngestionJobs (JobType 'vector-index') shows
-- the progress (types done of TotalItems, vectors in Parameters) and ends Completed, or Failed with
-- the error (types committed before it stay built). Searches go on meanwhile, on the segments
-- that were active when they started.
-- CALL it outside an explicit transaction (it commits between types).
CREATE OR REPLACE PROCEDURE dbo.sp_BuildVectorIndex(
    TenantId integer DEFAULT NULL,
    EmbeddingType text DEFAULT NULL,
    Mode text DEFAULT 'rebuild',
    INOUT IngestionJobId bigint DEFAULT NULL
)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    targets record;
    step record;
    total integer;
    done integer := 0;
    vectors bigint := 0;
    summary jsonb := '[]';
    failure text;
    failure_state text;
BEGIN
    IF Mode IS NULL OR Mode NOT IN ('auto', 'merge', 'rebuild', 'graph') THEN
        RAISE EXCEPTION 'sp_BuildVectorIndex: Mode must be ''auto'', ''merge'', ''rebuild'' or ''graph'', not %', coalesce(Mode, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    CREATE TEMPORARY TABLE IF NOT EXISTS pg_temp.vector_index_targets (TenantId integer, EmbeddingType text) ON COMMIT PRESERVE ROWS;
    TRUNCATE pg_temp.vector_index_targets;
    -- what has embeddings, and what has segments left (a type whose embeddings were all deleted)
    INSERT INTO pg_temp.vector_index_targets
    SELECT DISTINCT a.TenantId, e.EmbeddingType
    FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId
    WHERE (sp_BuildVectorIndex.TenantId IS NULL OR a.TenantId = sp_BuildVectorIndex.TenantId)
      AND (sp_BuildVectorIndex.EmbeddingType IS NULL OR e.EmbeddingType = sp_BuildVectorIndex.EmbeddingType)
    UNION
    SELECT s.TenantId, s.EmbeddingType FROM dbo.VectorIndexSegments s
    WHERE s.IsActive AND (sp_BuildVectorIndex.TenantId IS NULL OR s.TenantId = sp_BuildVectorIndex.TenantId)
      AND (sp_BuildVectorIndex.EmbeddingType IS NULL OR s.EmbeddingType = sp_BuildVectorIndex.EmbeddingType);
    SELECT count(*) INTO total FROM pg_temp.vector_index_targets;
    INSERT INTO dbo.IngestionJobs (JobType, Status, Source, TotalItems, StartTime, Parameters, TenantId)
    VALUES ('vector-index', 'Running', coalesce(sp_BuildVectorIndex.EmbeddingType, 'all embedding types'), total,
            clock_timestamp(), jsonb_build_object('mode', Mode, 'tenant', sp_BuildVectorIndex.TenantId),
            coalesce(sp_BuildVectorIndex.TenantId, 0))
    RETURNING dbo.IngestionJobs.IngestionJobId INTO sp_BuildVectorIndex.IngestionJobId;
    COMMIT;

    FOR targets IN SELECT t.TenantId, t.EmbeddingType FROM pg_temp.vector_index_targets t ORDER BY 1, 2 LOOP
        -- the Python call runs in a block that catches its error, so the job can say Failed and
        -- commit (a block with an exception handler cannot hold the COMMIT)
        BEGIN
            SELECT * INTO step FROM dbo.fn_BuildVectorSegment(targets.TenantId, targets.EmbeddingType, Mode, true);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS failure = MESSAGE_TEXT, failure_state = RETURNED_SQLSTATE;
        END;
        EXIT WHEN failure IS NOT NULL;
        done := done + 1;
        vectors := vectors + coalesce(step.VectorCount, 0);
        summary := summary || jsonb_build_object('tenant', targets.TenantId, 'type', targets.EmbeddingType,
                                                 'action', step.Action, 'kind', step.Kind, 'vectors', step.VectorCount,
                                                 'ef_search', step.EfSearch, 'calibrated_recall', step.CalibratedRecall,
                                                 'seconds', round(step.Seconds::numeric, 3));
        UPDATE dbo.IngestionJobs j
        SET AtomsProcessed = done, Parameters = j.Parameters || jsonb_build_object('vectors', vectors, 'segments', summary)
        WHERE j.IngestionJobId = sp_BuildVectorIndex.IngestionJobId;
        COMMIT;
    END LOOP;
    IF failure IS NOT NULL THEN
        UPDATE dbo.IngestionJobs j SET Status = 'Failed', EndTime = clock_timestamp(), AtomsProcessed = done,
            ErrorMessage = left(regexp_replace(failure, '^plpy\.Error: ', ''), 4000)
        WHERE j.IngestionJobId = sp_BuildVectorIndex.IngestionJobId;
        COMMIT;
        RAISE EXCEPTION 'sp_BuildVectorIndex: %', regexp_replace(failure, '^plpy\.Error: (fn_BuildVectorSegment: )?', '')
            USING ERRCODE = failure_state;
    END IF;
    UPDATE dbo.IngestionJobs j SET Status = 'Completed', EndTime = clock_timestamp(), AtomsProcessed = done
    WHERE j.IngestionJobId = sp_BuildVectorIndex.IngestionJobId;
    COMMIT;
    -- the build marked the embeddings indexed: without fresh statistics the planner still expects a
    -- large raw delta, and every search's look at it costs milliseconds until autovacuum analyzes
    ANALYZE dbo.AtomEmbeddings;
END
$$;
