-- kind: table
-- One row per run of a phase of the autonomous loop (the runbook's "OODA Loop Health" reads it):
-- when, how long, whether it succeeded, how many rows it handled.
IF OBJECT_ID(N'dbo.OODALoopMetrics', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.OODALoopMetrics (
        MetricId       BIGINT IDENTITY(1, 1) NOT NULL,
        CycleId        BIGINT        NULL,
        Phase          NVARCHAR(16)  NOT NULL,
        ExecutedAt     DATETIME2(3)  NOT NULL CONSTRAINT DF_OODALoopMetrics_ExecutedAt DEFAULT (SYSUTCDATETIME()),
        DurationMs     FLOAT         NOT NULL,
        Success        BIT           NOT NULL,
        ItemsProcessed INT           NOT NULL CONSTRAINT DF_OODALoopMetrics_ItemsProcessed DEFAULT (0),
        ErrorMessage   NVARCHAR(MAX) NULL,
        CONSTRAINT PK_OODALoopMetrics PRIMARY KEY CLUSTERED (MetricId),
        CONSTRAINT CK_OODALoopMetrics_Phase CHECK (Phase IN (N'Analyze', N'Hypothesize', N'Act', N'Learn', N'Online', N'Dispatch')),
        CONSTRAINT CK_OODALoopMetrics_Counts CHECK (DurationMs >= 0 AND ItemsProcessed >= 0)
    );
    CREATE INDEX IX_OODALoopMetrics_ExecutedAt ON dbo.OODALoopMetrics (ExecutedAt);
END;
