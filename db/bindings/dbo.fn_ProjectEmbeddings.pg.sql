-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server projects inside its procedures through sp_execute_external_script's input data set
-- 3-D points, coarse buckets and vector buckets (hartonomous_ext.spatial.project) of float32-byte
-- vectors, in input order. centroids may be NULL (landmarks fitted without vector buckets):
-- VectorBucket is then NULL.
CREATE OR REPLACE FUNCTION dbo.fn_ProjectEmbeddings(vectors bytea[], mean_vector bytea, axes bytea,
                                                    bucket_width double precision, centroids bytea)
RETURNS TABLE (Ordinal integer, X double precision, Y double precision, Z double precision,
               BucketX integer, BucketY integer, BucketZ integer, VectorBucket integer)
LANGUAGE plpython3u
STABLE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import spatial
if vectors is None or mean_vector is None or axes is None or bucket_width is None:
    plpy.error("fn_ProjectEmbeddings: vectors, mean_vector, axes and bucket_width must not be NULL")
rows = spatial.project(vectors, mean_vector, axes, bucket_width, centroids)
return [(i + 1, *row) for i, row in enumerate(rows)]
$$;
