-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server classifies inside sp_IngestAtom's script
-- A content type as stored (lower case, trimmed) and its modality (text, image, audio, model,
-- binary), by hartonomous_ext.atoms.classify; not a media type: an error.
CREATE OR REPLACE FUNCTION dbo.fn_ClassifyContent(content_type text)
RETURNS TABLE (ContentType text, Modality text)
LANGUAGE plpython3u
IMMUTABLE PARALLEL SAFE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import atoms
try:
    return [atoms.classify(content_type)]
except ValueError as exc:
    plpy.error(str(exc), sqlstate="22023")
$$;
