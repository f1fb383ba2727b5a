-- kind: function
-- requires: dbo.InferenceRequests, dbo.InferenceRequests_Archive
-- Move the oldest BatchRows InferenceRequests that started more than OlderThanDays ago (defaults:
-- LOOP_REQUEST_RETENTION_DAYS, LOOP_ARCHIVE_BATCH_ROWS) to dbo.InferenceRequests_Archive in one
-- transaction, and return how many moved (call again while it returns BatchRows): seed 000's "archive instead of deleting". For administrators and the system role.
-- A function on PostgreSQL (it returns a row): SELECT * FROM dbo.sp_ArchiveInferenceRequests().
CREATE OR REPLACE FUNCTION dbo.sp_ArchiveInferenceRequests(OlderThanDays integer DEFAULT {{ policy.LOOP_REQUEST_RETENTION_DAYS }},
                                                            BatchRows integer DEFAULT {{ policy.LOOP_ARCHIVE_BATCH_ROWS }})
RETURNS TABLE (ArchivedRows bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    moved bigint;
BEGIN
    IF OlderThanDays IS NULL OR OlderThanDays < 1 THEN
        RAISE EXCEPTION 'sp_ArchiveInferenceRequests: OlderThanDays must be 1 or more' USING ERRCODE = '22023';
    END IF;
    IF BatchRows IS NULL OR BatchRows < 1 THEN
        RAISE EXCEPTION 'sp_ArchiveInferenceRequests: BatchRows must be 1 or more' USING ERRCODE = '22023';
    END IF;
    WITH archived AS (
        DELETE FROM dbo.InferenceRequests q
        WHERE q.RequestId IN (SELECT o.RequestId FROM dbo.InferenceRequests o
                              WHERE o.StartTime < now() - make_interval(days => OlderThanDays)
                              ORDER BY o.StartTime LIMIT BatchRows)
        RETURNING q.*
    )
    INSERT INTO dbo.InferenceRequests_Archive
    SELECT a.RequestId, a.TenantId, a.TaskType, a.ModelId, a.Parameters, a.StartTime, a.DurationMs,
           a.CandidatesExamined, a.ResultCount, a.Status, a.ErrorMessage
    FROM archived a;
    GET DIAGNOSTICS moved = ROW_COUNT;
    RETURN QUERY SELECT moved;
END
$$;
