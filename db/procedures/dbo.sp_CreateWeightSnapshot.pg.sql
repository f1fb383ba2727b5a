-- kind: procedure
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.WeightSnapshots, dbo.WeightSnapshotChunks, dbo.fn_ResolveTenant, dbo.sp_GraphRecordModel
-- Record the weights of the tenant's model ModelId, or of all its models (ModelId NULL, the seeds'
-- default), as they are now under a name unique within the tenant: the chunk map of every tensor
-- (the chunks themselves are shared, never copied). dbo.sp_RestoreWeightSnapshot puts them back.
-- The snapshot is a node of the provenance graph, DerivedFrom the weights it recorded (dbo.sp_GraphRecordModel).
-- The seeds' call: CALL dbo.sp_CreateWeightSnapshot(SnapshotName => 'BeforeExperiment', ModelId => NULL,
-- Description => 'Baseline weights before RL training'); the new SnapshotId is the row returned.
CREATE OR REPLACE PROCEDURE dbo.sp_CreateWeightSnapshot(
    SnapshotName text,
    ModelId integer DEFAULT NULL,
    Description text DEFAULT NULL,
    TenantId integer DEFAULT NULL,
    INOUT SnapshotId integer DEFAULT NULL
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    models integer[];
BEGIN
    sp_CreateWeightSnapshot.TenantId := dbo.fn_ResolveTenant(sp_CreateWeightSnapshot.TenantId, 'sp_CreateWeightSnapshot');
    SnapshotId := NULL;
    IF SnapshotName IS NULL OR btrim(SnapshotName) = '' OR length(SnapshotName) > 256 THEN
        RAISE EXCEPTION 'sp_CreateWeightSnapshot: SnapshotName must be 1 to 256 characters' USING ERRCODE = '22023';
    END IF;
    IF length(Description) > 1024 THEN
        RAISE EXCEPTION 'sp_CreateWeightSnapshot: Description must be at most 1024 characters' USING ERRCODE = '22023';
    END IF;
    SELECT array_agg(m.ModelId ORDER BY m.ModelId) INTO models FROM dbo.Models m
    WHERE m.TenantId = sp_CreateWeightSnapshot.TenantId
      AND (sp_CreateWeightSnapshot.ModelId IS NULL OR m.ModelId = sp_CreateWeightSnapshot.ModelId);
    IF models IS NULL THEN
        IF sp_CreateWeightSnapshot.ModelId IS NULL THEN
            RAISE EXCEPTION 'sp_CreateWeightSnapshot: tenant % has no models to snapshot', sp_CreateWeightSnapshot.TenantId
                USING ERRCODE = '22023';
        END IF;
        RAISE EXCEPTION 'sp_CreateWeightSnapshot: model % does not exist for tenant %', sp_CreateWeightSnapshot.ModelId,
            sp_CreateWeightSnapshot.TenantId USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM dbo.WeightSnapshots s WHERE s.TenantId = sp_CreateWeightSnapshot.TenantId
               AND s.SnapshotName = sp_CreateWeightSnapshot.SnapshotName) THEN
        RAISE EXCEPTION 'sp_CreateWeightSnapshot: tenant % already has a snapshot named %', sp_CreateWeightSnapshot.TenantId,
            sp_CreateWeightSnapshot.SnapshotName USING ERRCODE = '23505';
    END IF;
    BEGIN
        INSERT INTO dbo.WeightSnapshots (TenantId, SnapshotName, ModelId, Description, ModelCount)
        VALUES (sp_CreateWeightSnapshot.TenantId, sp_CreateWeightSnapshot.SnapshotName, sp_CreateWeightSnapshot.ModelId,
                sp_CreateWeightSnapshot.Description, cardinality(models))
        RETURNING dbo.WeightSnapshots.SnapshotId INTO sp_CreateWeightSnapshot.SnapshotId;
    EXCEPTION WHEN unique_violation THEN  -- another session created the name since the check above
        RAISE EXCEPTION 'sp_CreateWeightSnapshot: tenant % already has a snapshot named %', sp_CreateWeightSnapshot.TenantId,
            sp_CreateWeightSnapshot.SnapshotName USING ERRCODE = '23505';
    END;
    INSERT INTO dbo.WeightSnapshotChunks (SnapshotId, TensorId, ChunkIndex, ChunkHash)
    SELECT sp_CreateWeightSnapshot.SnapshotId, c.TensorId, c.ChunkIndex, c.ChunkHash
    FROM dbo.ModelTensorChunks c JOIN dbo.ModelTensors t ON t.TensorId = c.TensorId
    WHERE t.ModelId = ANY (models);
    UPDATE dbo.WeightSnapshots s SET ChunkCount = (SELECT count(*) FROM dbo.WeightSnapshotChunks w
                                                   WHERE w.SnapshotId = s.SnapshotId)
    WHERE s.SnapshotId = sp_CreateWeightSnapshot.SnapshotId;
    CALL dbo.sp_GraphRecordModel(NULL, 'snapshot', sp_CreateWeightSnapshot.SnapshotId, NULL, sp_CreateWeightSnapshot.TenantId);
END
$$;
