-- kind: view
-- requires: Reasoning.ReasoningChains
-- Reasoning.ReasoningChains under the name the runbook (seed 001, "Reasoning Framework Success" and the quick health
-- check) queries: dbo.ReasoningChains. Read-only; the reasoning procedures write the table.
-- The table's security predicates apply through it (a view does not lift them).
CREATE OR ALTER VIEW dbo.ReasoningChains AS
SELECT ChainId, TenantId, ProblemId, ReasoningType, InitialPrompt, ModelIds,
       MaxSteps, Temperature, MaxTokens, Seed, TotalSteps, FinalStep,
       CoherenceScore, StepCoherence, ChainData, DurationMs, CreatedAt
FROM Reasoning.ReasoningChains;
