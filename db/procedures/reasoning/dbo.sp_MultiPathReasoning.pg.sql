-- kind: function
-- requires: dbo.fn_Reasoning, dbo.fn_RaiseClean, dbo.fn_ResolveTenant
-- Multi-path reasoning (seed 003's sp_MultiPathReasoning): NumPaths independent paths of up to
-- MaxDepth steps, each step generated through dbo.sp_GenerateText with ModelIds (metered there) after
-- BasePrompt and the path's steps so far (path p, step d seeded Seed + p * MaxDepth + d; an empty step
-- ends its path). Each path is scored by the mean log-probability of the tokens it generated (from
-- Attention.AttentionGenerationLog); the best path, its score and answer, and the share of paths that
-- reach the same answer are recorded in Reasoning.MultiPathReasoning (dbo.MultiPathReasoning) with the
-- whole tree (hartonomous_ext.reasoning).
-- A function on PostgreSQL (it returns a row):
-- SELECT * FROM dbo.sp_MultiPathReasoning(BasePrompt => 'What is the best solution?', NumPaths => 3, MaxDepth => 3, ModelIds => '2', Seed => 7);
CREATE OR REPLACE FUNCTION dbo.sp_MultiPathReasoning(
    ProblemId uuid DEFAULT NULL,
    BasePrompt text DEFAULT NULL,
    NumPaths integer DEFAULT 3,
    MaxDepth integer DEFAULT 3,
    Temperature double precision DEFAULT {{ policy.REASONING_STEP_TEMPERATURE }},
    MaxTokens integer DEFAULT {{ policy.REASONING_MAX_TOKENS }},
    ModelIds text DEFAULT NULL,
    TenantId integer DEFAULT NULL,
    Seed bigint DEFAULT NULL
)
RETURNS TABLE (ReasoningId bigint, ProblemKey uuid, BestPathIndex integer, BestAnswer text, BestScore double precision,
               PathAgreement double precision)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    answer jsonb;
BEGIN
    sp_MultiPathReasoning.TenantId := dbo.fn_ResolveTenant(sp_MultiPathReasoning.TenantId, 'sp_MultiPathReasoning');
    answer := dbo.fn_Reasoning('multi_path', sp_MultiPathReasoning.ProblemId, sp_MultiPathReasoning.BasePrompt,
                               sp_MultiPathReasoning.NumPaths, sp_MultiPathReasoning.MaxDepth, sp_MultiPathReasoning.Temperature,
                               sp_MultiPathReasoning.MaxTokens, sp_MultiPathReasoning.ModelIds,
                               sp_MultiPathReasoning.TenantId, sp_MultiPathReasoning.Seed);
    RETURN QUERY SELECT (answer->>'id')::bigint, (answer->>'problem')::uuid, (answer->>'best')::integer,
                        answer->>'best_answer', (answer->>'best_score')::double precision,
                        (answer->>'agreement')::double precision;
EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
    PERFORM dbo.fn_RaiseClean('sp_MultiPathReasoning', SQLERRM, SQLSTATE);
END
$$;
