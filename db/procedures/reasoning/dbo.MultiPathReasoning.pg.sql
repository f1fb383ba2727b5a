-- kind: view
-- requires: Reasoning.MultiPathReasoning
-- Reasoning.MultiPathReasoning under the name the runbook (seed 001, "Reasoning Framework Success" and the quick health
-- check) queries: dbo.MultiPathReasoning. Read-only; the reasoning procedures write the table.
-- security_invoker: the querying role's row-level security applies (its tenant's rows only).
CREATE OR REPLACE VIEW dbo.MultiPathReasoning WITH (security_invoker = true) AS
SELECT ReasoningId, TenantId, ProblemId, BasePrompt, ModelIds, NumPaths,
       MaxDepth, Temperature, MaxTokens, Seed, BestPathIndex, BestScore,
       BestAnswer, PathAgreement, ReasoningTree, DurationMs, CreatedAt
FROM reasoning.MultiPathReasoning;
