-- kind: table
-- requires: dbo.AutonomousActions
-- Seed 003's self-modification provenance: one row per judged action, its metric before and after
-- and the verdict (kept, reverted, regressed: worse but not revertable, failed).
IF OBJECT_ID(N'dbo.AutonomousImprovementHistory', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.AutonomousImprovementHistory (
        HistoryId      BIGINT IDENTITY(1, 1) NOT NULL,
        ActionId       BIGINT        NULL,
        CycleId        BIGINT        NULL,
        ActionType     NVARCHAR(64)  NOT NULL,
        TargetObject   NVARCHAR(512) NULL,
        Verdict        NVARCHAR(16)  NOT NULL,
        MetricName     NVARCHAR(64)  NULL,
        MetricBefore   FLOAT         NULL,
        MetricAfter    FLOAT         NULL,
        ImprovementPct FLOAT         NULL,
        Detail         NVARCHAR(MAX) NULL,
        RecordedAt     DATETIME2(3)  NOT NULL CONSTRAINT DF_AutonomousImprovementHistory_RecordedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_AutonomousImprovementHistory PRIMARY KEY CLUSTERED (HistoryId),
        CONSTRAINT FK_AutonomousImprovementHistory_Actions FOREIGN KEY (ActionId) REFERENCES dbo.AutonomousActions (ActionId),
        CONSTRAINT CK_AutonomousImprovementHistory_Verdict CHECK (Verdict IN (N'kept', N'reverted', N'regressed', N'failed')),
        CONSTRAINT CK_AutonomousImprovementHistory_Detail CHECK (Detail IS NULL OR ISJSON(Detail) = 1)
    );
END;
