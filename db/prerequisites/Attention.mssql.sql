-- kind: schema
-- requires: Database
-- What attention did in each text generation (seed 003's Attention schema: AttentionGenerationLog).
IF SCHEMA_ID(N'Attention') IS NULL
BEGIN
    EXEC (N'CREATE SCHEMA Attention AUTHORIZATION dbo');
END;
