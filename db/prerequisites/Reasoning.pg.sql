-- kind: schema
-- The reasoning procedures' record (seed 003's Reasoning schema): chains of thought, multi-path
-- reasoning, self-consistency (dbo.sp_ChainOfThoughtReasoning, sp_MultiPathReasoning,
-- sp_SelfConsistencyReasoning).
CREATE SCHEMA IF NOT EXISTS reasoning;
