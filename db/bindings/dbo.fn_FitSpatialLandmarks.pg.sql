-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server fits inside dbo.sp_RecomputeAllSpatialProjections through sp_execute_external_script's input data set
-- PCA landmarks and bucket_count k-means centres (hartonomous_ext.spatial.fit) from a sample of
-- float32-byte vectors.
CREATE OR REPLACE FUNCTION dbo.fn_FitSpatialLandmarks(vectors bytea[], bucket_count integer)
RETURNS TABLE (MeanVector bytea, Axes bytea, BucketWidth double precision, ExplainedVariance double precision,
               SampleSize integer, Dimension integer, Centroids bytea, CentroidCount integer)
LANGUAGE plpython3u
STABLE STRICT
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import spatial
fit = spatial.fit(vectors, bucket_count)
return [(fit["mean"], fit["axes"], fit["bucket_width"], fit["explained_variance"], fit["sample_size"], fit["dimension"],
         fit["centroids"], fit["centroid_count"])]
$$;
