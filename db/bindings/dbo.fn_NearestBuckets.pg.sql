-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server chooses buckets inside dbo.sp_SemanticSearch through sp_execute_external_script
-- The numbers of the probes vector buckets whose k-means centres are nearest the query
-- (hartonomous_ext.spatial.nearest_buckets), nearest first.
CREATE OR REPLACE FUNCTION dbo.fn_NearestBuckets(query_embedding bytea, centroids bytea, probes integer)
RETURNS integer[]
LANGUAGE plpython3u
STABLE STRICT
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import spatial
return spatial.nearest_buckets(query_embedding, centroids, probes)
$$;
