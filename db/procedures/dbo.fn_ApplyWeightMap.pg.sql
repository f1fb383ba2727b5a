-- kind: function
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.TensorChunks, dbo.fn_VersionModelTensorChunks
-- engine-specific: SQL Server restores inside each procedure from a #map temp table
-- Map the tensors named in `target` (rows of TensorId, ChunkIndex, ChunkHash as a JSON array, the
-- shape both restore procedures build for the models they cover) to its chunks, or with DryRun only
-- say what would change: one row per tensor that differs, with its model's name and number of differing chunks. Changed tensors get their
-- SHA-256 recomputed. The replaced mapping goes to the history like any weight change.
CREATE OR REPLACE FUNCTION dbo.fn_ApplyWeightMap(target jsonb, DryRun boolean)
RETURNS TABLE (ModelName text, TensorName text, ChunksChanged integer)
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS hartonomous_weight_map (TensorId bigint, ChunkIndex integer, ChunkHash bytea)
        ON COMMIT DROP;
    TRUNCATE hartonomous_weight_map;
    INSERT INTO hartonomous_weight_map
    SELECT (r->>0)::bigint, (r->>1)::integer, decode(r->>2, 'hex') FROM jsonb_array_elements(target) r;
    CREATE TEMP TABLE IF NOT EXISTS hartonomous_weight_diff (TensorId bigint, ChunksChanged integer) ON COMMIT DROP;
    TRUNCATE hartonomous_weight_diff;
    INSERT INTO hartonomous_weight_diff
    SELECT c.TensorId, count(*)::integer
    FROM dbo.ModelTensorChunks c
    JOIN hartonomous_weight_map m ON m.TensorId = c.TensorId AND m.ChunkIndex = c.ChunkIndex
    WHERE m.ChunkHash <> c.ChunkHash
    GROUP BY c.TensorId;
    IF NOT DryRun THEN
        UPDATE dbo.ModelTensorChunks c SET ChunkHash = m.ChunkHash
        FROM hartonomous_weight_map m
        WHERE m.TensorId = c.TensorId AND m.ChunkIndex = c.ChunkIndex AND m.ChunkHash <> c.ChunkHash
          AND c.TensorId IN (SELECT d.TensorId FROM hartonomous_weight_diff d);
        UPDATE dbo.ModelTensors t
        SET Sha256 = (SELECT sha256(string_agg(k.Data, ''::bytea ORDER BY c.ChunkIndex))
                      FROM dbo.ModelTensorChunks c JOIN dbo.TensorChunks k ON k.ChunkHash = c.ChunkHash
                      WHERE c.TensorId = t.TensorId)
        WHERE t.TensorId IN (SELECT d.TensorId FROM hartonomous_weight_diff d);
    END IF;
    RETURN QUERY
    SELECT m.ModelName, t.TensorName, d.ChunksChanged
    FROM hartonomous_weight_diff d JOIN dbo.ModelTensors t ON t.TensorId = d.TensorId
    JOIN dbo.Models m ON m.ModelId = t.ModelId
    ORDER BY t.ModelId, t.TensorIndex;
END
$$;
