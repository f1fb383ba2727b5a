-- kind: view
-- requires: Reasoning.SelfConsistencyResults
-- Reasoning.SelfConsistencyResults under the name the runbook (seed 001, "Reasoning Framework Success" and the quick health
-- check) queries: dbo.SelfConsistencyResults. Read-only; the reasoning procedures write the table.
-- security_invoker: the querying role's row-level security applies (its tenant's rows only).
CREATE OR REPLACE VIEW dbo.SelfConsistencyResults WITH (security_invoker = true) AS
SELECT ResultId, TenantId, ProblemId, Prompt, ModelIds, NumSamples,
       Temperature, MaxTokens, Seed, ConsensusAnswer, ConsensusVotes, AgreementRatio,
       DistinctAnswers, SampleData, DurationMs, CreatedAt
FROM reasoning.SelfConsistencyResults;
