-- kind: table
-- The allowlist's switch and record per action type. The types themselves, whether each is
-- destructive or online and its risk are the package's (hartonomous_ext.autonomy.ACTIONS); a DBA
-- may switch a type off (IsAllowlisted = 0). sp_Learn counts what was kept and what failed, and
-- sp_Hypothesize scores with that record.
CREATE TABLE IF NOT EXISTS dbo.AutonomousActionCatalog (
    ActionType    text     NOT NULL,
    IsAllowlisted smallint NOT NULL DEFAULT 1,
    KeptCount     integer  NOT NULL DEFAULT 0,
    FailedCount   integer  NOT NULL DEFAULT 0,
    CONSTRAINT PK_AutonomousActionCatalog PRIMARY KEY (ActionType),
    CONSTRAINT CK_AutonomousActionCatalog_Flag CHECK (IsAllowlisted IN (0, 1)),
    CONSTRAINT CK_AutonomousActionCatalog_Counts CHECK (KeptCount >= 0 AND FailedCount >= 0)
);
