-- kind: table
-- requires: dbo
-- renamed: JobId -> IngestionJobId, StartedAt -> StartTime, CompletedAt -> EndTime
-- One row per ingestion run (content, embeddings, models): status, counts, timing and the error.
IF OBJECT_ID(N'dbo.IngestionJobs', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.IngestionJobs (
        IngestionJobId BIGINT IDENTITY(1, 1) NOT NULL,
        TenantId       INT             NOT NULL CONSTRAINT DF_IngestionJobs_TenantId DEFAULT (0),
        JobType        NVARCHAR(64)    NOT NULL,
        Status         NVARCHAR(16)    NOT NULL CONSTRAINT DF_IngestionJobs_Status DEFAULT (N'Pending'),
        Source         NVARCHAR(1024)  NULL,
        Parameters     NVARCHAR(MAX)   NULL,
        TotalItems     BIGINT          NULL,
        AtomsProcessed BIGINT          NOT NULL CONSTRAINT DF_IngestionJobs_AtomsProcessed DEFAULT (0),
        CreatedAt      DATETIME2(3)    NOT NULL CONSTRAINT DF_IngestionJobs_CreatedAt DEFAULT (SYSUTCDATETIME()),
        StartTime      DATETIME2(3)    NULL,
        EndTime        DATETIME2(3)    NULL,
        ErrorMessage   NVARCHAR(MAX)   NULL,
        CONSTRAINT PK_IngestionJobs PRIMARY KEY CLUSTERED (IngestionJobId),
        CONSTRAINT CK_IngestionJobs_Status CHECK (Status IN (N'Pending', N'Running', N'Completed', N'Failed', N'Cancelled')),
        CONSTRAINT CK_IngestionJobs_Counts CHECK (AtomsProcessed >= 0 AND (TotalItems IS NULL OR TotalItems >= 0)),
        CONSTRAINT CK_IngestionJobs_Parameters CHECK (Parameters IS NULL OR ISJSON(Parameters) = 1),
        CONSTRAINT CK_IngestionJobs_Times CHECK (EndTime IS NULL OR StartTime IS NULL OR EndTime >= StartTime)
    );
    CREATE INDEX IX_IngestionJobs_Status ON dbo.IngestionJobs (Status, CreatedAt);
    CREATE INDEX IX_IngestionJobs_Tenant_Type ON dbo.IngestionJobs (TenantId, JobType, CreatedAt);
END;
