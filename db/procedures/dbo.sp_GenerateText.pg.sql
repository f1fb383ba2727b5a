-- kind: function
-- requires: dbo.fn_GenerateText, dbo.fn_RaiseClean
-- Generate text after a prompt with the stored Llama-architecture GGUF model(s) ModelIds of the
-- tenant, in the database (hartonomous_ext.generation: numpy over the stored weights, loaded once
-- per session and weight version). Greedy at temperature 0 (deterministic); otherwise sampled from
-- the top_k most likely tokens (0: all), reproducibly when seed is given. Several ModelIds generate
-- as an ensemble: the average of their log-probabilities picks each token (one vocabulary needed).
-- Records the request in dbo.InferenceRequests, the tokens and lineage in dbo.GenerationStreams,
-- and stores the generated text as an atom (OutputAtomId).
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
BEGIN
    RETURN QUERY SELECT * FROM dbo.fn_GenerateText(prompt, max_tokens, temperature, top_k, ModelIds, TenantId, seed);
EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
    PERFORM dbo.fn_RaiseClean('sp_GenerateText', SQLERRM, SQLSTATE);
END
$$;
