-- kind: procedure
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.WeightSnapshots, dbo.WeightSnapshotChunks
-- Record a model's weights as they are now under a name: the chunk map of every tensor (the chunks
-- themselves are shared, never copied). dbo.sp_RestoreWeightSnapshot puts them back.
CREATE OR REPLACE PROCEDURE dbo.sp_CreateWeightSnapshot(
    ModelId integer,
    SnapshotName text,
    TenantId integer DEFAULT 0,
    INOUT SnapshotId integer DEFAULT NULL
)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
    IF NOT EXISTS (SELECT 1 FROM dbo.Models m WHERE m.ModelId = sp_CreateWeightSnapshot.ModelId
                   AND m.TenantId = sp_CreateWeightSnapshot.TenantId) THEN
        RAISE EXCEPTION 'sp_CreateWeightSnapshot: model % does not exist for tenant %', sp_CreateWeightSnapshot.ModelId,
            sp_CreateWeightSnapshot.TenantId USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM dbo.WeightSnapshots s WHERE s.ModelId = sp_CreateWeightSnapshot.ModelId
               AND s.SnapshotName = sp_CreateWeightSnapshot.SnapshotName) THEN
        RAISE EXCEPTION 'sp_CreateWeightSnapshot: model % already has a snapshot named %', sp_CreateWeightSnapshot.ModelId,
            sp_CreateWeightSnapshot.SnapshotName USING ERRCODE = '23505';
    END IF;
    INSERT INTO dbo.WeightSnapshots (ModelId, SnapshotName)
    VALUES (sp_CreateWeightSnapshot.ModelId, sp_CreateWeightSnapshot.SnapshotName)
    RETURNING dbo.WeightSnapshots.SnapshotId INTO sp_CreateWeightSnapshot.SnapshotId;
    INSERT INTO dbo.WeightSnapshotChunks (SnapshotId, TensorId, ChunkIndex, ChunkHash)
    SELECT sp_CreateWeightSnapshot.SnapshotId, c.TensorId, c.ChunkIndex, c.ChunkHash
    FROM dbo.ModelTensorChunks c JOIN dbo.ModelTensors t ON t.TensorId = c.TensorId
    WHERE t.ModelId = sp_CreateWeightSnapshot.ModelId;
    UPDATE dbo.WeightSnapshots s SET ChunkCount = (SELECT count(*) FROM dbo.WeightSnapshotChunks w
                                                   WHERE w.SnapshotId = s.SnapshotId)
    WHERE s.SnapshotId = sp_CreateWeightSnapshot.SnapshotId;
END
$$;
