if "hartonomous_ext" not in GD:
    plpy.execute("SELECT dbo.fn_LoadExternalLibrary()")
