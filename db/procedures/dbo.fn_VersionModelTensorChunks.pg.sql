-- kind: function
-- requires: dbo.ModelTensorChunks, dbo.ModelTensorChunksHistory
-- engine-specific: SQL Server versions dbo.ModelTensorChunks with SYSTEM_VERSIONING (a temporal table)
-- System versioning for dbo.ModelTensorChunks, as SQL Server's temporal tables do it: an update
-- stamps the new row's ValidFrom with the transaction's time and moves the old row to the history
-- table, a delete moves the old row. The trigger is (re)created with the function.
CREATE OR REPLACE FUNCTION dbo.fn_VersionModelTensorChunks()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.ChunkHash IS NOT DISTINCT FROM OLD.ChunkHash THEN
            RETURN NEW;
        END IF;
        NEW.ValidFrom := now();
    END IF;
    -- a row made and changed in the same transaction leaves no history: it was never current
    IF OLD.ValidFrom < now() THEN
        INSERT INTO dbo.ModelTensorChunksHistory (TensorId, ChunkIndex, ChunkHash, ValidFrom, ValidTo)
        VALUES (OLD.TensorId, OLD.ChunkIndex, OLD.ChunkHash, OLD.ValidFrom, now());
    END IF;
    RETURN CASE WHEN TG_OP = 'UPDATE' THEN NEW ELSE OLD END;
END
$$;
DROP TRIGGER IF EXISTS TR_ModelTensorChunks_Versioning ON dbo.ModelTensorChunks;
CREATE TRIGGER TR_ModelTensorChunks_Versioning
    BEFORE UPDATE OR DELETE ON dbo.ModelTensorChunks
    FOR EACH ROW EXECUTE FUNCTION dbo.fn_VersionModelTensorChunks();
