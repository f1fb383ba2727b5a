-- kind: function
-- requires: dbo.fn_GenerateText, dbo.fn_RaiseClean, dbo.fn_ResolveTenant, dbo.sp_ChargeUsage
-- Generate text after a prompt with the stored Llama-architecture GGUF model(s) ModelIds of the
-- tenant, in the database (hartonomous_ext.generation: numpy over the stored weights, loaded once
-- per session and weight version). Greedy at temperature 0 (deterministic); otherwise sampled from
-- the top_k most likely tokens (0: all), reproducibly when seed is given. Several ModelIds generate
-- as an ensemble: the average of their log-probabilities picks each token (one vocabulary needed).
-- Records the request in dbo.InferenceRequests, the tokens and lineage in dbo.GenerationStreams,
-- what attention did in Attention.AttentionGenerationLog, and stores the generated text as an atom (OutputAtomId).
-- Metered: the tokens generated ('generated_token', dbo.sp_ChargeUsage); a call whose max_tokens would
-- not fit in what is left of the tenant's monthly quota is refused before it generates.
-- ModelIds: a comma-separated list ('1,2,3', as the seeds write it) or a JSON array ('[1,2,3]').
-- A function on PostgreSQL (it returns a row): SELECT * FROM dbo.sp_GenerateText('prompt', ModelIds => '2').
CREATE OR REPLACE FUNCTION dbo.sp_GenerateText(
    prompt text,
    max_tokens integer DEFAULT 64,
    temperature double precision DEFAULT 0,
    top_k integer DEFAULT 0,
    ModelIds text DEFAULT NULL,
    TenantId integer DEFAULT NULL,
    seed bigint DEFAULT NULL
)
RETURNS TABLE (StreamId bigint, GeneratedText text, TokenCount integer, RequestId bigint)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    generated record;
BEGIN
    sp_GenerateText.TenantId := dbo.fn_ResolveTenant(sp_GenerateText.TenantId, 'sp_GenerateText');
    IF max_tokens >= 1 THEN
        CALL dbo.sp_ChargeUsage(sp_GenerateText.TenantId, 'generated_token', max_tokens, 'sp_GenerateText', true);
    END IF;
    SELECT * INTO generated FROM dbo.fn_GenerateText(prompt, max_tokens, temperature, top_k, ModelIds, TenantId, seed);
    CALL dbo.sp_ChargeUsage(sp_GenerateText.TenantId, 'generated_token', generated.TokenCount, 'sp_GenerateText');
    RETURN QUERY SELECT generated.StreamId, generated.GeneratedText, generated.TokenCount, generated.RequestId;
EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
    PERFORM dbo.fn_RaiseClean('sp_GenerateText', SQLERRM, SQLSTATE);
END
$$;
