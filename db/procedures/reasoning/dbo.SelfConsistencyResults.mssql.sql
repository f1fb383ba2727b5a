-- kind: view
-- requires: Reasoning.SelfConsistencyResults
-- Reasoning.SelfConsistencyResults under the name the runbook (seed 001, "Reasoning Framework Success" and the quick health
-- check) queries: dbo.SelfConsistencyResults. Read-only; the reasoning procedures write the table.
-- The table's security predicates apply through it (a view does not lift them).
CREATE OR ALTER VIEW dbo.SelfConsistencyResults AS
SELECT ResultId, TenantId, ProblemId, Prompt, ModelIds, NumSamples,
       Temperature, MaxTokens, Seed, ConsensusAnswer, ConsensusVotes, AgreementRatio,
       DistinctAnswers, SampleData, DurationMs, CreatedAt
FROM Reasoning.SelfConsistencyResults;
