-- kind: view
-- requires: Reasoning.ReasoningChains
-- Reasoning.ReasoningChains under the name the runbook (seed 001, "Reasoning Framework Success" and the quick health
-- check) queries: dbo.ReasoningChains. Read-only; the reasoning procedures write the table.
-- security_invoker: the querying role's row-level security applies (its tenant's rows only).
CREATE OR REPLACE VIEW dbo.ReasoningChains WITH (security_invoker = true) AS
SELECT ChainId, TenantId, ProblemId, ReasoningType, InitialPrompt, ModelIds,
       MaxSteps, Temperature, MaxTokens, Seed, TotalSteps, FinalStep,
       CoherenceScore, StepCoherence, ChainData, DurationMs, CreatedAt
FROM reasoning.ReasoningChains;
