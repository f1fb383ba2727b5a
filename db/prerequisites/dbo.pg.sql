-- kind: schema
CREATE SCHEMA IF NOT EXISTS dbo;
