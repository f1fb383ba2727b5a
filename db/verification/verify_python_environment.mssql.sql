-- kind: check
-- requires: dbo.sp_PythonEnvironment
-- The in-database Python imports every module the package needs.
SET NOCOUNT ON;
CREATE TABLE #environment (Module NVARCHAR(64), Version NVARCHAR(64) NULL, Detail NVARCHAR(4000) NULL);
INSERT INTO #environment (Module, Version, Detail)
EXEC dbo.sp_PythonEnvironment;
SELECT CONCAT(N'in-database Python imports ', Module) AS CheckName,
       CAST(CASE WHEN Version IS NOT NULL THEN 1 ELSE 0 END AS BIT) AS Passed,
       COALESCE(Module + N' ' + Version, Detail) AS Detail
FROM #environment;
