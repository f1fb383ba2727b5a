-- kind: schema
-- requires: Database
-- The reasoning procedures' record (seed 003's Reasoning schema): chains of thought, multi-path
-- reasoning, self-consistency (dbo.sp_ChainOfThoughtReasoning, sp_MultiPathReasoning,
-- sp_SelfConsistencyReasoning).
IF SCHEMA_ID(N'Reasoning') IS NULL
BEGIN
    EXEC (N'CREATE SCHEMA Reasoning AUTHORIZATION dbo');
END;
