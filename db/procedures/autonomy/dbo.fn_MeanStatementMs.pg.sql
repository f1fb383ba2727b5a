-- kind: function
-- engine-specific: reads two readings of dbo.fn_StatementCounters (pg_stat_statements)
-- The mean time per call (ms) of a set of statements between two readings of
-- dbo.fn_StatementCounters, and how many calls that is (mean NULL when none ran).
CREATE OR REPLACE FUNCTION dbo.fn_MeanStatementMs(Earlier jsonb, Later jsonb, OUT MeanMs double precision, OUT Calls bigint)
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE WHEN sum(d.calls) > 0 THEN sum(d.total_ms) / sum(d.calls) END, coalesce(sum(d.calls), 0)::bigint
    FROM (SELECT greatest((l.value->>'calls')::numeric - coalesce((Earlier->k.key->>'calls')::numeric, 0), 0) AS calls,
                 greatest((l.value->>'total_ms')::double precision - coalesce((Earlier->k.key->>'total_ms')::double precision, 0), 0) AS total_ms
          FROM jsonb_each(Later) l JOIN LATERAL (SELECT l.key) k ON true) d
$$;
