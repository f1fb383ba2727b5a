-- kind: library
-- requires: Database, ExternalScriptsEnabled
-- The package's Python (db/external_scripts/hartonomous_ext) as a wheel the deployer builds,
-- hartonomous_ext-<version>-py3-none-any.whl, <size> bytes, sha256 <sha256>, inside a zip
-- archive (SQL Server does not take a .whl directly). Owned by dbo, so every user can import it.
-- Its dependencies (numpy, scipy, scikit-learn, pandas, onnxruntime: see requirements.txt) must be
-- in the instance's Machine Learning Services Python runtime.
IF EXISTS (SELECT 1 FROM sys.external_libraries
           WHERE name = N'hartonomous_ext' AND language = N'Python' AND principal_id = DATABASE_PRINCIPAL_ID(N'dbo'))
BEGIN
    -- without AUTHORIZATION the statement means the caller's own library, not dbo's
    DROP EXTERNAL LIBRARY hartonomous_ext AUTHORIZATION dbo;
END;
