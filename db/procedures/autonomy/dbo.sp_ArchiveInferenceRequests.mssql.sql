-- kind: procedure
-- requires: dbo.InferenceRequests, dbo.InferenceRequests_Archive
-- Move the oldest @BatchRows InferenceRequests that started more than @OlderThanDays ago (defaults:
-- LOOP_REQUEST_RETENTION_DAYS, LOOP_ARCHIVE_BATCH_ROWS) to dbo.InferenceRequests_Archive, and return
-- how many moved as one row, ArchivedRows (call again while it returns @BatchRows): seed 000's
-- "archive instead of deleting". For administrators and the system role. One statement (DELETE
-- ... OUTPUT ... INTO), so the rows are in exactly one of the two tables whatever fails, and it
-- runs inside a caller's transaction (sp_Act's savepoint) without opening one of its own. It runs
-- as its owner: the row-level security predicate shows the owner every tenant's rows.
CREATE OR ALTER PROCEDURE dbo.sp_ArchiveInferenceRequests
    @OlderThanDays INT = {{ policy.LOOP_REQUEST_RETENTION_DAYS }},
    @BatchRows INT = {{ policy.LOOP_ARCHIVE_BATCH_ROWS }}
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Cutoff DATETIME2(3), @Moved BIGINT;
    IF @OlderThanDays IS NULL OR @OlderThanDays < 1
        THROW 51450, N'sp_ArchiveInferenceRequests: OlderThanDays must be 1 or more', 1;
    IF @BatchRows IS NULL OR @BatchRows < 1
        THROW 51451, N'sp_ArchiveInferenceRequests: BatchRows must be 1 or more', 1;
    SET @Cutoff = DATEADD(DAY, -@OlderThanDays, SYSUTCDATETIME());
    WITH oldest AS (
        SELECT TOP (@BatchRows) q.RequestId, q.TenantId, q.TaskType, q.ModelId, q.Parameters, q.StartTime, q.DurationMs,
               q.CandidatesExamined, q.ResultCount, q.Status, q.ErrorMessage
        FROM dbo.InferenceRequests AS q
        WHERE q.StartTime < @Cutoff
        ORDER BY q.StartTime, q.RequestId
    )
    DELETE FROM oldest
    OUTPUT deleted.RequestId, deleted.TenantId, deleted.TaskType, deleted.ModelId, deleted.Parameters, deleted.StartTime,
           deleted.DurationMs, deleted.CandidatesExamined, deleted.ResultCount, deleted.Status, deleted.ErrorMessage
    INTO dbo.InferenceRequests_Archive (RequestId, TenantId, TaskType, ModelId, Parameters, StartTime, DurationMs,
                                        CandidatesExamined, ResultCount, Status, ErrorMessage);
    SET @Moved = @@ROWCOUNT;
    SELECT @Moved AS ArchivedRows;
END;
