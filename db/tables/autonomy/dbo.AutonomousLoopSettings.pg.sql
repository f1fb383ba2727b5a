-- kind: table
-- How the autonomous loop runs: one row (SettingsId 1) a DBA may insert or change; a column left
-- NULL, or no row at all, means the package's default (hartonomous_ext.policy, LOOP_*).
CREATE TABLE IF NOT EXISTS dbo.AutonomousLoopSettings (
    SettingsId           integer          NOT NULL DEFAULT 1,
    Enabled              smallint         NULL,
    IntervalSeconds      integer          NULL,
    AutoApproveThreshold double precision NULL,
    MaxChangesPerRun     integer          NULL,
    RequireHumanApproval smallint         NULL,
    ValidationSeconds    integer          NULL,
    MinValidationCalls   integer          NULL,
    RevertTolerance      double precision NULL,
    LookbackHours        integer          NULL,
    VisibilitySeconds    integer          NULL,
    CONSTRAINT PK_AutonomousLoopSettings PRIMARY KEY (SettingsId),
    CONSTRAINT CK_AutonomousLoopSettings_One CHECK (SettingsId = 1),
    CONSTRAINT CK_AutonomousLoopSettings_Flags CHECK (Enabled IN (0, 1) AND RequireHumanApproval IN (0, 1)),
    CONSTRAINT CK_AutonomousLoopSettings_Ranges CHECK (
        IntervalSeconds >= 1 AND AutoApproveThreshold BETWEEN 0 AND 10 AND MaxChangesPerRun >= 0
        AND ValidationSeconds >= 0 AND MinValidationCalls >= 0 AND RevertTolerance BETWEEN 0 AND 10
        AND LookbackHours >= 0 AND VisibilitySeconds >= 1)
);
