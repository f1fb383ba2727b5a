-- kind: table
-- How the autonomous loop runs: one row (SettingsId 1) a DBA may insert or change; a column left
-- NULL, or no row at all, means the package's default (hartonomous_ext.policy, LOOP_*).
IF OBJECT_ID(N'dbo.AutonomousLoopSettings', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.AutonomousLoopSettings (
        SettingsId           INT   NOT NULL CONSTRAINT DF_AutonomousLoopSettings_SettingsId DEFAULT (1),
        Enabled              BIT   NULL,
        IntervalSeconds      INT   NULL,
        AutoApproveThreshold FLOAT NULL,
        MaxChangesPerRun     INT   NULL,
        RequireHumanApproval BIT   NULL,
        ValidationSeconds    INT   NULL,
        MinValidationCalls   INT   NULL,
        RevertTolerance      FLOAT NULL,
        LookbackHours        INT   NULL,
        VisibilitySeconds    INT   NULL,
        CONSTRAINT PK_AutonomousLoopSettings PRIMARY KEY CLUSTERED (SettingsId),
        CONSTRAINT CK_AutonomousLoopSettings_One CHECK (SettingsId = 1),
        CONSTRAINT CK_AutonomousLoopSettings_Ranges CHECK (
            IntervalSeconds >= 1 AND AutoApproveThreshold BETWEEN 0 AND 10 AND MaxChangesPerRun >= 0
            AND ValidationSeconds >= 0 AND MinValidationCalls >= 0 AND RevertTolerance BETWEEN 0 AND 10
            AND LookbackHours >= 0 AND VisibilitySeconds >= 1)
    );
END;
