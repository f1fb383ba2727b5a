"""Hartonomous in-database Python: the code the procedures call, on both engines.

SQL Server runs it through sp_execute_external_script (installed with CREATE EXTERNAL LIBRARY);
PostgreSQL runs it in plpython3u (loaded from dbo.ExternalLibraries by dbo.fn_LoadExternalLibrary).
Vectors cross the boundary as little-endian float32 bytes on both engines.
"""

__all__ = ["vectors"]
