-- kind: table
-- requires: dbo.Atoms, FilestreamFilegroup
-- The content of each atom, once per atom (deduplicated by dbo.Atoms' content hash).
{% if filestream %}-- FILESTREAM: payloads live in the HartonomousFilestream filegroup (--skip-filestream: in rows).
{% else %}-- --skip-filestream: payloads are VARBINARY(MAX) rows.
{% endif %}IF OBJECT_ID(N'dbo.AtomPayloadStore', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.AtomPayloadStore (
        AtomId    BIGINT           NOT NULL,
{% if filestream %}        PayloadId UNIQUEIDENTIFIER ROWGUIDCOL NOT NULL
            CONSTRAINT DF_AtomPayloadStore_PayloadId DEFAULT (NEWSEQUENTIALID())
            CONSTRAINT UQ_AtomPayloadStore_PayloadId UNIQUE,
        Payload   VARBINARY(MAX) FILESTREAM NOT NULL,
{% else %}        Payload   VARBINARY(MAX)   NOT NULL,
{% endif %}        CONSTRAINT PK_AtomPayloadStore PRIMARY KEY CLUSTERED (AtomId),
        CONSTRAINT FK_AtomPayloadStore_Atoms FOREIGN KEY (AtomId) REFERENCES dbo.Atoms (AtomId) ON DELETE CASCADE
    ){% if filestream %} FILESTREAM_ON HartonomousFilestream{% endif %};
END;
