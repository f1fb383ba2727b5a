-- kind: table
-- requires: dbo
-- engine-specific: SQL Server keeps external libraries in its own catalog (sys.external_libraries)
-- The package's Python libraries as wheels. dbo.fn_LoadExternalLibrary imports them from here, in
-- memory: updating the code needs only a SQL connection, nothing is written to the server's disk.
CREATE TABLE IF NOT EXISTS dbo.ExternalLibraries (
    LibraryName text        NOT NULL,
    Language    text        NOT NULL DEFAULT 'Python',
    Version     text        NOT NULL,
    Content     bytea       NOT NULL,
    ContentHash char(64)    NOT NULL,
    InstalledAt timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT PK_ExternalLibraries PRIMARY KEY (LibraryName),
    CONSTRAINT CK_ExternalLibraries_Language CHECK (Language = 'Python'),
    CONSTRAINT CK_ExternalLibraries_ContentHash CHECK (ContentHash ~ '^[0-9a-f]{64}$')
);
