-- kind: check
-- requires: dbo.fn_PythonEnvironment
-- The in-database Python imports every module the package needs.
SELECT format('in-database Python imports %s', Module),
       Version IS NOT NULL,
       coalesce(Module || ' ' || Version, Detail)
FROM dbo.fn_PythonEnvironment();
