-- kind: table
-- The allowlist's switch and record per action type. The types themselves, whether each is
-- destructive or online and its risk are the package's (hartonomous_ext.autonomy.ACTIONS); a DBA
-- may switch a type off (IsAllowlisted = 0). sp_Learn counts what was kept and what failed, and
-- sp_Hypothesize scores with that record.
IF OBJECT_ID(N'dbo.AutonomousActionCatalog', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.AutonomousActionCatalog (
        ActionType    NVARCHAR(64) NOT NULL,
        IsAllowlisted BIT          NOT NULL CONSTRAINT DF_AutonomousActionCatalog_IsAllowlisted DEFAULT (1),
        KeptCount     INT          NOT NULL CONSTRAINT DF_AutonomousActionCatalog_KeptCount DEFAULT (0),
        FailedCount   INT          NOT NULL CONSTRAINT DF_AutonomousActionCatalog_FailedCount DEFAULT (0),
        CONSTRAINT PK_AutonomousActionCatalog PRIMARY KEY CLUSTERED (ActionType),
        CONSTRAINT CK_AutonomousActionCatalog_Counts CHECK (KeptCount >= 0 AND FailedCount >= 0)
    );
END;
