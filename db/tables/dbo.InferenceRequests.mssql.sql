-- kind: table
-- requires: dbo.Models
-- renamed: RequestType -> TaskType, RequestedAt -> StartTime
-- One row per search, embedding or generation request: what was asked, how long it took, how much
-- it examined; the monitoring queries and the improvement loop read it.
IF OBJECT_ID(N'dbo.InferenceRequests', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.InferenceRequests (
        RequestId          BIGINT IDENTITY(1, 1) NOT NULL,
        TenantId           INT            NOT NULL CONSTRAINT DF_InferenceRequests_TenantId DEFAULT (0),
        TaskType           NVARCHAR(64)   NOT NULL,
        ModelId            INT            NULL,
        Parameters         NVARCHAR(MAX)  NULL,
        StartTime          DATETIME2(3)   NOT NULL CONSTRAINT DF_InferenceRequests_StartTime DEFAULT (SYSUTCDATETIME()),
        DurationMs         FLOAT          NULL,
        CandidatesExamined BIGINT         NULL,
        ResultCount        INT            NULL,
        Status             NVARCHAR(16)   NOT NULL CONSTRAINT DF_InferenceRequests_Status DEFAULT (N'Completed'),
        ErrorMessage       NVARCHAR(MAX)  NULL,
        CONSTRAINT PK_InferenceRequests PRIMARY KEY CLUSTERED (RequestId),
        CONSTRAINT FK_InferenceRequests_Models FOREIGN KEY (ModelId) REFERENCES dbo.Models (ModelId),
        CONSTRAINT CK_InferenceRequests_Status CHECK (Status IN (N'Completed', N'Failed')),
        CONSTRAINT CK_InferenceRequests_Counts CHECK (DurationMs >= 0 AND CandidatesExamined >= 0 AND ResultCount >= 0),
        CONSTRAINT CK_InferenceRequests_Parameters CHECK (Parameters IS NULL OR ISJSON(Parameters) = 1)
    );
    CREATE INDEX IX_InferenceRequests_TaskType_StartTime ON dbo.InferenceRequests (TaskType, StartTime DESC);
END;
