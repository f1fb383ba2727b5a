-- kind: table
-- requires: dbo
-- Content-addressed atoms: the SHA-256 of the content is the identity within a tenant; ingesting
-- the same content again raises ReferenceCount instead of adding a row.
IF OBJECT_ID(N'dbo.Atoms', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Atoms (
        AtomId         BIGINT IDENTITY(1, 1) NOT NULL,
        TenantId       INT            NOT NULL CONSTRAINT DF_Atoms_TenantId DEFAULT (0),
        ContentHash    BINARY(32)     NOT NULL,
        ContentType    NVARCHAR(128)  NOT NULL,
        Modality       NVARCHAR(16)   NOT NULL,
        ContentSize    BIGINT         NOT NULL,
        ReferenceCount BIGINT         NOT NULL CONSTRAINT DF_Atoms_ReferenceCount DEFAULT (1),
        Metadata       NVARCHAR(MAX)  NULL,
        CreatedAt      DATETIME2(3)   NOT NULL CONSTRAINT DF_Atoms_CreatedAt DEFAULT (SYSUTCDATETIME()),
        UpdatedAt      DATETIME2(3)   NOT NULL CONSTRAINT DF_Atoms_UpdatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_Atoms PRIMARY KEY CLUSTERED (AtomId),
        CONSTRAINT UQ_Atoms_Tenant_ContentHash UNIQUE (TenantId, ContentHash),
        CONSTRAINT CK_Atoms_Modality CHECK (Modality IN (N'text', N'image', N'audio', N'model', N'binary')),
        CONSTRAINT CK_Atoms_ContentSize CHECK (ContentSize >= 0),
        CONSTRAINT CK_Atoms_ReferenceCount CHECK (ReferenceCount >= 0),
        CONSTRAINT CK_Atoms_Metadata CHECK (Metadata IS NULL OR ISJSON(Metadata) = 1)
    );
    CREATE INDEX IX_Atoms_Tenant_Modality ON dbo.Atoms (TenantId, Modality) INCLUDE (ContentType, CreatedAt);
END;
