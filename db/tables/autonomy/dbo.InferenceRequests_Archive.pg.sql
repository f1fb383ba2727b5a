-- kind: table
-- InferenceRequests past their retention (seed 000's maintenance: INSERT INTO InferenceRequests_Archive),
-- moved by dbo.sp_ArchiveInferenceRequests with their RequestId; no foreign key to dbo.Models, so a
-- model can be removed while its old requests stay on record. The same columns in the same order
-- as dbo.InferenceRequests, so the seed's INSERT ... SELECT * runs as written.
CREATE TABLE IF NOT EXISTS dbo.InferenceRequests_Archive (
    RequestId          bigint           NOT NULL,
    TenantId           integer          NOT NULL,
    TaskType           text             NOT NULL,
    ModelId            integer          NULL,
    Parameters         jsonb            NULL,
    StartTime          timestamptz      NOT NULL,
    DurationMs         double precision NULL,
    CandidatesExamined bigint           NULL,
    ResultCount        integer          NULL,
    Status             text             NOT NULL,
    ErrorMessage       text             NULL,
    CONSTRAINT PK_InferenceRequests_Archive PRIMARY KEY (RequestId)
);
CREATE INDEX IF NOT EXISTS IX_InferenceRequests_Archive_StartTime ON dbo.InferenceRequests_Archive (StartTime);
