-- kind: library
-- requires: dbo.ExternalLibraries
-- The package's Python (db/external_scripts/hartonomous_ext) as a wheel the deployer builds,
-- {{ library.filename }}, {{ library.size }} bytes, sha256 {{ library.sha256 }}.
INSERT INTO dbo.ExternalLibraries (LibraryName, Language, Version, Content, ContentHash, InstalledAt)
VALUES (
    'hartonomous_ext',
    'Python',
    '{{ library.version }}',
    decode('{{ library.base64 }}', 'base64'),
    '{{ library.sha256 }}',
    now()
)
ON CONFLICT (LibraryName) DO UPDATE
SET Version = EXCLUDED.Version,
    Content = EXCLUDED.Content,
    ContentHash = EXCLUDED.ContentHash,
    InstalledAt = EXCLUDED.InstalledAt;
