-- kind: table
-- One row per cycle of the autonomous loop: started by sp_Analyze, finished by sp_Learn.
IF OBJECT_ID(N'dbo.AutonomousCycles', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.AutonomousCycles (
        CycleId       BIGINT IDENTITY(1, 1) NOT NULL,
        StartedAt     DATETIME2(3) NOT NULL CONSTRAINT DF_AutonomousCycles_StartedAt DEFAULT (SYSUTCDATETIME()),
        FinishedAt    DATETIME2(3) NULL,
        TenantId      INT          NULL,
        AnalysisScope NVARCHAR(16) NOT NULL CONSTRAINT DF_AutonomousCycles_AnalysisScope DEFAULT (N'full'),
        LookbackHours INT          NOT NULL,
        TriggeredBy   NVARCHAR(64) NOT NULL CONSTRAINT DF_AutonomousCycles_TriggeredBy DEFAULT (N'loop'),
        CONSTRAINT PK_AutonomousCycles PRIMARY KEY CLUSTERED (CycleId),
        CONSTRAINT CK_AutonomousCycles_Scope CHECK (AnalysisScope IN (N'full', N'performance', N'maintenance')),
        CONSTRAINT CK_AutonomousCycles_Lookback CHECK (LookbackHours >= 0)
    );
END;
