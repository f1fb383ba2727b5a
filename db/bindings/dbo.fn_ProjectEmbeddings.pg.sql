-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server projects inside its procedures through sp_execute_external_script's input data set
-- 3-D points and buckets (hartonomous_ext.spatial.project) of float32-byte vectors, in input order.
CREATE OR REPLACE FUNCTION dbo.fn_ProjectEmbeddings(vectors bytea[], mean_vector bytea, axes bytea, bucket_width double precision)
RETURNS TABLE (Ordinal integer, X double precision, Y double precision, Z double precision,
               BucketX integer, BucketY integer, BucketZ integer)
LANGUAGE plpython3u
STABLE STRICT
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import spatial
return [(i + 1, *row) for i, row in enumerate(spatial.project(vectors, mean_vector, axes, bucket_width))]
$$;
