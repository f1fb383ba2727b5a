-- kind: schema
-- What attention did in each text generation (seed 003's Attention schema: AttentionGenerationLog).
CREATE SCHEMA IF NOT EXISTS attention;
