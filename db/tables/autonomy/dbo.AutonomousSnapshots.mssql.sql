-- kind: table
-- requires: dbo.AutonomousCycles
-- The counters sp_Analyze reads each cycle (statements, tables, indexes), so later cycles see what
-- happened in between: the engine's statistics are cumulative; and its daily measures of each vector
-- index graph's search recall (vector_index: one a day per graph).
IF OBJECT_ID(N'dbo.AutonomousSnapshots', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.AutonomousSnapshots (
        CycleId    BIGINT        NOT NULL,
        Kind       NVARCHAR(16)  NOT NULL,
        ObjectName NVARCHAR(256) NOT NULL,
        Counters   NVARCHAR(MAX) NOT NULL,
        CapturedAt DATETIME2(3)  NOT NULL CONSTRAINT DF_AutonomousSnapshots_CapturedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_AutonomousSnapshots PRIMARY KEY CLUSTERED (CycleId, Kind, ObjectName),
        CONSTRAINT FK_AutonomousSnapshots_Cycles FOREIGN KEY (CycleId) REFERENCES dbo.AutonomousCycles (CycleId) ON DELETE CASCADE,
        CONSTRAINT CK_AutonomousSnapshots_Kind CHECK (Kind IN (N'statement', N'table', N'index', N'vector_index')),
        CONSTRAINT CK_AutonomousSnapshots_Counters CHECK (ISJSON(Counters) = 1)
    );
END;
