-- Hartonomous smoke tests, PostgreSQL: run after a publish, against the published database.
--   psql -X -v ON_ERROR_STOP=1 -d <database> -f tests/smoke/smoke-tests.pg.sql
-- Each check prints PASS: <what> as a NOTICE, or stops the run with FAIL: <what and why> (exit 3).
-- It ingests a few atoms of its own (tenant 424242) and removes them at the end.
-- The SQL Server twin is tests/smoke/smoke-tests.sql (sqlcmd -b -I -i).
\set ON_ERROR_STOP on
\set VERBOSITY terse

DO $$
DECLARE first_id bigint; again_id bigint; refs bigint;
BEGIN
    CALL dbo.sp_IngestAtom(convert_to('Smoke test: the database is the engine.', 'UTF8'), 'text/plain',
                           '{"source": "smoke"}', 424242, true, NULL, first_id);
    CALL dbo.sp_IngestAtom(convert_to('Smoke test: the database is the engine.', 'UTF8'), 'text/plain',
                           '{"source": "smoke"}', 424242, true, NULL, again_id);
    SELECT ReferenceCount INTO refs FROM dbo.Atoms WHERE AtomId = first_id;
    IF first_id IS NULL OR again_id IS DISTINCT FROM first_id OR refs <> 2 THEN
        RAISE EXCEPTION 'FAIL: ingest: the same content twice gave atoms % and % with reference count %',
            first_id, again_id, refs;
    END IF;
    RAISE NOTICE 'PASS: ingest (atom %, the same content again is the same atom, reference count 2)', first_id;
END $$;

DO $$
DECLARE v bytea; norm double precision;
BEGIN
    v := dbo.fn_GenerateEmbedding('Smoke test embedding');
    norm := dbo.fn_VectorDotProduct(v, v);
    IF octet_length(v) <> 384 * 4 OR abs(norm - 1) > 1e-4 THEN
        RAISE EXCEPTION 'FAIL: embed: % bytes, |v|² = %', octet_length(v), norm;
    END IF;
    RAISE NOTICE 'PASS: embed (384 dimensions, |v|² = %)', round(norm::numeric, 6);
END $$;

DO $$
DECLARE cat_id bigint; top_id bigint; top_preview text;
BEGIN
    CALL dbo.sp_IngestAtom(convert_to('Smoke test: kittens sleep in the afternoon sun.', 'UTF8'), 'text/plain',
                           NULL, 424242, true, NULL, cat_id);
    CALL dbo.sp_IngestAtom(convert_to('Smoke test: quarterly revenue grew by four percent.', 'UTF8'), 'text/plain',
                           NULL, 424242, true, NULL, top_id);
    SELECT s.AtomId, s.Preview INTO top_id, top_preview
    FROM dbo.sp_SemanticSearch(query_text => 'a sleepy cat', top_k => 1, use_hybrid => false, TenantId => 424242) s;
    IF top_id IS DISTINCT FROM cat_id THEN
        RAISE EXCEPTION 'FAIL: search: "a sleepy cat" found atom % (%), expected %', top_id, top_preview, cat_id;
    END IF;
    RAISE NOTICE 'PASS: search (exact: "a sleepy cat" finds the kitten atom)';
END $$;

DO $$
DECLARE dot double precision; cosine double precision;
BEGIN
    dot := dbo.fn_VectorDotProduct('\x0000803f0000004000004040'::bytea, '\x000080400000a0400000c040'::bytea);
    cosine := dbo.fn_VectorCosineSimilarity('\x0000803f0000004000004040'::bytea, '\x000080400000a0400000c040'::bytea);
    IF abs(dot - 32) > 1e-9 OR abs(cosine - 0.9746318461970762) > 1e-9 THEN
        RAISE EXCEPTION 'FAIL: vector ops: [1,2,3]·[4,5,6] = %, cos = %', dot, cosine;
    END IF;
    RAISE NOTICE 'PASS: vector ops (dot 32, cosine 0.974631846)';
END $$;

DO $$
DECLARE missing text;
BEGIN
    SELECT string_agg(name, ', ') INTO missing
    FROM (VALUES ('dbo.sp_IngestAtom'), ('dbo.sp_SemanticSearch'), ('dbo.sp_RecomputeAllSpatialProjections'),
                 ('dbo.sp_GenerateText'), ('dbo.sp_IngestModel'), ('dbo.fn_GenerateEmbedding')) AS expected (name)
    WHERE to_regproc(name) IS NULL AND NOT EXISTS (
        SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname || '.' || p.proname = lower(expected.name));
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'FAIL: verification: missing %', missing;
    END IF;
    IF (SELECT count(*) FROM deploy.Deployments WHERE Status IN ('succeeded', 'no changes')) = 0 THEN
        RAISE EXCEPTION 'FAIL: verification: no successful deployment in deploy.Deployments';
    END IF;
    RAISE NOTICE 'PASS: verification (the public procedures exist; the last publish succeeded)';
END $$;

DELETE FROM dbo.InferenceRequests WHERE TenantId = 424242;
DELETE FROM dbo.Atoms WHERE TenantId = 424242;
\echo smoke tests: all passed
