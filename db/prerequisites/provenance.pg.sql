-- kind: schema
CREATE SCHEMA IF NOT EXISTS provenance;
