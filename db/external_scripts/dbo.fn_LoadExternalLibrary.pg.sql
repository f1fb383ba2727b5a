-- kind: function
-- requires: plpython3u, dbo.ExternalLibraries
-- engine-specific: SQL Server's Machine Learning Services imports external libraries itself
-- Makes the package's Python importable in this session: adds the in-database venv (the setting
-- hartonomous.python_site) to sys.path and installs an importer that reads the hartonomous_ext
-- wheel from dbo.ExternalLibraries, in memory. Returns the wheel's sha256.
-- The venv path is read from the server's configuration files only (pg_file_settings): a
-- session's own SET hartonomous.python_site could otherwise point the interpreter at any folder.
-- SECURITY DEFINER so that roles without access to pg_file_settings or dbo.ExternalLibraries can
-- call the bindings; whoever may write dbo.ExternalLibraries decides what code runs, so only the
-- deploying role may.
-- Binding functions call it once per session (they check GD first). A session that imported
-- an older wheel reloads when it calls this again after a publish changed the hash.
CREATE OR REPLACE FUNCTION dbo.fn_LoadExternalLibrary()
RETURNS text
LANGUAGE plpython3u
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
import importlib.abc
import importlib.util
import io
import site
import sys
import zipfile

configured = plpy.execute(
    "SELECT setting FROM pg_catalog.pg_file_settings "
    "WHERE name = 'hartonomous.python_site' AND error IS NULL ORDER BY seqno DESC LIMIT 1")
python_site = configured[0]["setting"] if configured else None
if python_site and python_site not in sys.path:
    site.addsitedir(python_site)

rows = plpy.execute(plpy.prepare(
    "SELECT Content, ContentHash FROM dbo.ExternalLibraries WHERE LibraryName = $1", ["text"]
), ["hartonomous_ext"])
if not rows:
    plpy.error("the Python library hartonomous_ext is not installed in this database",
               hint="publish the package (stage 3, external scripts)")
content, content_hash = rows[0]["content"], rows[0]["contenthash"]
if GD.get("hartonomous_ext") == content_hash:
    return content_hash

PACKAGE = "hartonomous_ext"


class WheelImporter(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the modules of one wheel held in memory."""

    def __init__(self, wheel, digest):
        self.files = {}
        with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
            for name in archive.namelist():
                if name.endswith(".py"):
                    self.files[name] = archive.read(name)
        self.digest = digest

    def _locate(self, fullname):
        base = fullname.replace(".", "/")
        if base + "/__init__.py" in self.files:
            return base + "/__init__.py", True
        if base + ".py" in self.files:
            return base + ".py", False
        return None, False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != PACKAGE and not fullname.startswith(PACKAGE + "."):
            return None
        filename, is_package = self._locate(fullname)
        if filename is None:
            return None
        spec = importlib.util.spec_from_loader(fullname, self, origin="dbo.ExternalLibraries:" + filename,
                                               is_package=is_package)
        spec.has_location = False
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        filename, is_package = self._locate(module.__name__)
        if is_package:
            module.__path__ = []
        code = compile(self.files[filename], "<dbo.ExternalLibraries " + self.digest[:12] + ">/" + filename, "exec")
        exec(code, module.__dict__)


# replace an importer (and modules) left by an older version of the wheel
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "WheelImporter"]
for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
    del sys.modules[name]
sys.meta_path.insert(0, WheelImporter(content, content_hash))
GD["hartonomous_ext"] = content_hash
return content_hash
$$;
