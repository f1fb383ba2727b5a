-- kind: table
-- requires: dbo.Atoms
-- The content of each atom, once per atom (deduplicated by dbo.Atoms' content hash).
CREATE TABLE IF NOT EXISTS dbo.AtomPayloadStore (
    AtomId  bigint NOT NULL,
    Payload bytea  NOT NULL,
    CONSTRAINT PK_AtomPayloadStore PRIMARY KEY (AtomId),
    CONSTRAINT FK_AtomPayloadStore_Atoms FOREIGN KEY (AtomId) REFERENCES dbo.Atoms (AtomId) ON DELETE CASCADE
);
