-- kind: check
-- requires: dbo.fn_VectorDotProduct, dbo.fn_VectorCosineSimilarity, dbo.fn_VectorL2Distance, dbo.fn_VectorNormalize, dbo.fn_VectorSoftmax
-- Vector math through in-database Python, checked against numbers worked out by hand:
-- a = [1, 2, 3], b = [4, 5, 6] as little-endian float32 bytes.
WITH v AS (
    SELECT '\x0000803f0000004000004040'::bytea AS a,
           '\x000080400000a0400000c040'::bytea AS b,
           '\x0000803f0000803f0000803f'::bytea AS ones
), r AS (
    SELECT dbo.fn_VectorDotProduct(a, b) AS dot,
           dbo.fn_VectorCosineSimilarity(a, b) AS cosine,
           dbo.fn_VectorL2Distance(a, b) AS l2,
           dbo.fn_VectorDotProduct(dbo.fn_VectorNormalize(a), dbo.fn_VectorNormalize(a)) AS unit,
           dbo.fn_VectorDotProduct(dbo.fn_VectorSoftmax(a), ones) AS softmax_sum
    FROM v
)
SELECT 'vector dot product (in-database Python)', abs(dot - 32) < 1e-9, format('[1,2,3]·[4,5,6] = %s, expected 32', dot) FROM r
UNION ALL
SELECT 'vector cosine similarity (in-database Python)', abs(cosine - 0.9746318461970762) < 1e-9,
       format('cos([1,2,3], [4,5,6]) = %s, expected 0.974631846', cosine) FROM r
UNION ALL
SELECT 'vector L2 distance (in-database Python)', abs(l2 - sqrt(27)) < 1e-9, format('|[1,2,3]-[4,5,6]| = %s, expected sqrt(27)', l2) FROM r
UNION ALL
SELECT 'vector normalize (in-database Python)', abs(unit - 1) < 1e-6, format('|normalize([1,2,3])|² = %s, expected 1', unit) FROM r
UNION ALL
SELECT 'vector softmax (in-database Python)', abs(softmax_sum - 1) < 1e-6, format('sum(softmax([1,2,3])) = %s, expected 1', softmax_sum) FROM r;
