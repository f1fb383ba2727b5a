-- kind: check
-- requires: dbo.fn_GenerateEmbedding, dbo.fn_VectorDotProduct, dbo.fn_VectorCosineSimilarity
-- all-MiniLM-L6-v2 runs in the database: 384 normalized values, and meaning decides closeness.
WITH e AS (
    SELECT dbo.fn_GenerateEmbedding('A cat sleeps on the warm windowsill.') AS cat,
           dbo.fn_GenerateEmbedding('A kitten naps in the sun by the window.') AS kitten,
           dbo.fn_GenerateEmbedding('Quarterly revenue rose by four percent.') AS revenue
)
SELECT 'embedding model (in-database onnxruntime)',
       octet_length(cat) = 1536 AND abs(dbo.fn_VectorDotProduct(cat, cat) - 1) < 1e-5
       AND dbo.fn_VectorCosineSimilarity(cat, kitten) > dbo.fn_VectorCosineSimilarity(cat, revenue) + 0.2,
       format('384 dims, |v|² = %s; cos(cat, kitten) = %s, cos(cat, revenue) = %s',
              round(dbo.fn_VectorDotProduct(cat, cat)::numeric, 6),
              round(dbo.fn_VectorCosineSimilarity(cat, kitten)::numeric, 3),
              round(dbo.fn_VectorCosineSimilarity(cat, revenue)::numeric, 3))
FROM e;
