-- kind: view
-- requires: Reasoning.MultiPathReasoning
-- Reasoning.MultiPathReasoning under the name the runbook (seed 001, "Reasoning Framework Success" and the quick health
-- check) queries: dbo.MultiPathReasoning. Read-only; the reasoning procedures write the table.
-- The table's security predicates apply through it (a view does not lift them).
CREATE OR ALTER VIEW dbo.MultiPathReasoning AS
SELECT ReasoningId, TenantId, ProblemId, BasePrompt, ModelIds, NumPaths,
       MaxDepth, Temperature, MaxTokens, Seed, BestPathIndex, BestScore,
       BestAnswer, PathAgreement, ReasoningTree, DurationMs, CreatedAt
FROM Reasoning.MultiPathReasoning;
