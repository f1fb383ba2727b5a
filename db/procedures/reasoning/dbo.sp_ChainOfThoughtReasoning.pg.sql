-- kind: function
-- requires: dbo.fn_Reasoning, dbo.fn_RaiseClean, dbo.fn_ResolveTenant
-- Chain of thought (seed 003's sp_ChainOfThoughtReasoning): up to MaxSteps steps, each generated
-- through dbo.sp_GenerateText with ModelIds (metered there) after InitialPrompt and the steps so far
-- (step i seeded Seed + i); a step the model leaves empty ends the chain. Its CoherenceScore is the
-- mean cosine similarity of consecutive steps' all-MiniLM-L6-v2 embeddings, clipped at 0, in [0, 1]
-- (hartonomous_ext.reasoning; NULL for fewer than two steps). Recorded in Reasoning.ReasoningChains
-- (dbo.ReasoningChains) with every step and its dbo.GenerationStreams row.
-- A function on PostgreSQL (it returns a row):
-- SELECT * FROM dbo.sp_ChainOfThoughtReasoning(InitialPrompt => 'Why is the sky blue?', MaxSteps => 3, ModelIds => '2', Seed => 7);
CREATE OR REPLACE FUNCTION dbo.sp_ChainOfThoughtReasoning(
    ProblemId uuid DEFAULT NULL,
    InitialPrompt text DEFAULT NULL,
    MaxSteps integer DEFAULT 5,
    Temperature double precision DEFAULT {{ policy.REASONING_STEP_TEMPERATURE }},
    MaxTokens integer DEFAULT {{ policy.REASONING_MAX_TOKENS }},
    ModelIds text DEFAULT NULL,
    TenantId integer DEFAULT NULL,
    Seed bigint DEFAULT NULL
)
RETURNS TABLE (ChainId bigint, ProblemKey uuid, TotalSteps integer, FinalStep text, CoherenceScore double precision)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    answer jsonb;
BEGIN
    sp_ChainOfThoughtReasoning.TenantId := dbo.fn_ResolveTenant(sp_ChainOfThoughtReasoning.TenantId, 'sp_ChainOfThoughtReasoning');
    answer := dbo.fn_Reasoning('chain_of_thought', sp_ChainOfThoughtReasoning.ProblemId, sp_ChainOfThoughtReasoning.InitialPrompt,
                               sp_ChainOfThoughtReasoning.MaxSteps, NULL, sp_ChainOfThoughtReasoning.Temperature,
                               sp_ChainOfThoughtReasoning.MaxTokens, sp_ChainOfThoughtReasoning.ModelIds,
                               sp_ChainOfThoughtReasoning.TenantId, sp_ChainOfThoughtReasoning.Seed);
    RETURN QUERY SELECT (answer->>'id')::bigint, (answer->>'problem')::uuid, (answer->>'total_steps')::integer,
                        answer->>'final_step', (answer->>'coherence')::double precision;
EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
    PERFORM dbo.fn_RaiseClean('sp_ChainOfThoughtReasoning', SQLERRM, SQLSTATE);
END
$$;
