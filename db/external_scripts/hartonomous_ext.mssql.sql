-- kind: library
-- requires: Database, ExternalScriptsEnabled
-- The package's Python (db/external_scripts/hartonomous_ext) as a wheel the deployer builds,
-- {{ library.filename }}, {{ library.size }} bytes, sha256 {{ library.sha256 }}, inside a zip
-- archive (SQL Server does not take a .whl directly). Owned by dbo, so every user can import it.
-- Its dependencies (numpy, scipy, scikit-learn, pandas, onnxruntime: see requirements.txt) must be
-- in the instance's Machine Learning Services Python runtime.
IF EXISTS (SELECT 1 FROM sys.external_libraries
           WHERE name = N'hartonomous_ext' AND language = N'Python' AND principal_id = DATABASE_PRINCIPAL_ID(N'dbo'))
BEGIN
    -- without AUTHORIZATION the statement means the caller's own library, not dbo's
    DROP EXTERNAL LIBRARY hartonomous_ext AUTHORIZATION dbo;
END;
GO
CREATE EXTERNAL LIBRARY hartonomous_ext
AUTHORIZATION dbo
FROM (CONTENT = 0x{{ library.mssql_package_hex }})
WITH (LANGUAGE = 'Python');
