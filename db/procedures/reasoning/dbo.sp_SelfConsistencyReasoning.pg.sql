-- kind: function
-- requires: dbo.fn_Reasoning, dbo.fn_RaiseClean, dbo.fn_ResolveTenant
-- Self-consistency (seed 003's sp_SelfConsistencyReasoning): NumSamples completions of Prompt at
-- Temperature through dbo.sp_GenerateText with ModelIds (metered there; sample i seeded Seed + i, so a
-- rerun with the same Seed reproduces every sample), each one's answer extracted and normalised, and
-- the vote (hartonomous_ext.reasoning): the consensus answer and its agreement ratio (its votes over
-- NumSamples). Recorded in Reasoning.SelfConsistencyResults (dbo.SelfConsistencyResults) with every
-- sample and its dbo.GenerationStreams row; ProblemId groups runs (NULL: a new one).
-- A function on PostgreSQL (it returns a row):
-- SELECT * FROM dbo.sp_SelfConsistencyReasoning(Prompt => 'What is 15% of 80?', NumSamples => 5, Temperature => 0.8, ModelIds => '2', Seed => 7);
CREATE OR REPLACE FUNCTION dbo.sp_SelfConsistencyReasoning(
    ProblemId uuid DEFAULT NULL,
    Prompt text DEFAULT NULL,
    NumSamples integer DEFAULT 5,
    Temperature double precision DEFAULT {{ policy.REASONING_SELF_CONSISTENCY_TEMPERATURE }},
    MaxTokens integer DEFAULT {{ policy.REASONING_MAX_TOKENS }},
    ModelIds text DEFAULT NULL,
    TenantId integer DEFAULT NULL,
    Seed bigint DEFAULT NULL
)
RETURNS TABLE (ResultId bigint, ProblemKey uuid, ConsensusAnswer text, ConsensusVotes integer, AgreementRatio double precision)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    answer jsonb;
BEGIN
    sp_SelfConsistencyReasoning.TenantId := dbo.fn_ResolveTenant(sp_SelfConsistencyReasoning.TenantId, 'sp_SelfConsistencyReasoning');
    answer := dbo.fn_Reasoning('self_consistency', sp_SelfConsistencyReasoning.ProblemId, sp_SelfConsistencyReasoning.Prompt,
                               sp_SelfConsistencyReasoning.NumSamples, NULL, sp_SelfConsistencyReasoning.Temperature,
                               sp_SelfConsistencyReasoning.MaxTokens, sp_SelfConsistencyReasoning.ModelIds,
                               sp_SelfConsistencyReasoning.TenantId, sp_SelfConsistencyReasoning.Seed);
    RETURN QUERY SELECT (answer->>'id')::bigint, (answer->>'problem')::uuid, answer->>'consensus',
                        (answer->>'votes')::integer, (answer->>'agreement')::double precision;
EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
    PERFORM dbo.fn_RaiseClean('sp_SelfConsistencyReasoning', SQLERRM, SQLSTATE);
END
$$;
