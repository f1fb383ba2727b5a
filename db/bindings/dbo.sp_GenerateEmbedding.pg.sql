-- kind: procedure
-- requires: dbo.fn_GenerateEmbedding, dbo.fn_ResolveTenant, dbo.fn_RaiseClean, dbo.sp_ChargeUsage, dbo.fn_CheckModelAccess
-- The embedding of a text (float32 bytes, L2-normalized) by the packaged all-MiniLM-L6-v2, or by the
-- stored model ModelId (see dbo.fn_GenerateEmbedding), and the same vector as a JSON array (the
-- text form SQL Server 2025 casts to VECTOR(384); both engines' procedures take the same
-- parameters). NULL text gives NULLs; empty text is an error.
-- Metered: one 'embedding' (dbo.sp_ChargeUsage) when it computes one.
-- CALL dbo.sp_GenerateEmbedding('some text') returns them as the row of its INOUT parameters.
CREATE OR REPLACE PROCEDURE dbo.sp_GenerateEmbedding(text_value text, ModelId integer DEFAULT NULL,
                                                     INOUT embedding bytea DEFAULT NULL,
                                                     INOUT embedding_json text DEFAULT NULL,
                                                     TenantId integer DEFAULT NULL)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
BEGIN
    sp_GenerateEmbedding.TenantId := dbo.fn_ResolveTenant(sp_GenerateEmbedding.TenantId, 'sp_GenerateEmbedding');
    IF text_value IS NOT NULL THEN
        IF ModelId IS NOT NULL THEN
            PERFORM dbo.fn_CheckModelAccess(TenantId, jsonb_build_array(ModelId), 'sp_GenerateEmbedding');
        END IF;
        CALL dbo.sp_ChargeUsage(TenantId, 'embedding', 1, 'sp_GenerateEmbedding', true);
    END IF;
    embedding := dbo.fn_GenerateEmbedding(text_value, ModelId, TenantId);
    embedding_json := CASE WHEN embedding IS NOT NULL THEN dbo.fn_VectorToJson(embedding) END;
    IF embedding IS NOT NULL THEN
        CALL dbo.sp_ChargeUsage(TenantId, 'embedding', 1, 'sp_GenerateEmbedding');
    END IF;
EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
    PERFORM dbo.fn_RaiseClean('sp_GenerateEmbedding', SQLERRM, SQLSTATE);
END
$$;
