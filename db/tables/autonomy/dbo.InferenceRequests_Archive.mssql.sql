-- kind: table
-- InferenceRequests past their retention (seed 000's maintenance: INSERT INTO InferenceRequests_Archive),
-- moved by dbo.sp_ArchiveInferenceRequests with their RequestId; no foreign key to dbo.Models, so a
-- model can be removed while its old requests stay on record. The same columns in the same order
-- as dbo.InferenceRequests, so the seed's INSERT ... SELECT * runs as written.
IF OBJECT_ID(N'dbo.InferenceRequests_Archive', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.InferenceRequests_Archive (
        RequestId          BIGINT        NOT NULL,
        TenantId           INT           NOT NULL,
        TaskType           NVARCHAR(64)  NOT NULL,
        ModelId            INT           NULL,
        Parameters         NVARCHAR(MAX) NULL,
        StartTime          DATETIME2(3)  NOT NULL,
        DurationMs         FLOAT         NULL,
        CandidatesExamined BIGINT        NULL,
        ResultCount        INT           NULL,
        Status             NVARCHAR(16)  NOT NULL,
        ErrorMessage       NVARCHAR(MAX) NULL,
        CONSTRAINT PK_InferenceRequests_Archive PRIMARY KEY CLUSTERED (RequestId)
    );
    CREATE INDEX IX_InferenceRequests_Archive_StartTime ON dbo.InferenceRequests_Archive (StartTime);
END;
