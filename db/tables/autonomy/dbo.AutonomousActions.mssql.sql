-- kind: table
-- requires: dbo.AutonomousCycles, dbo.AutonomousObservations, dbo.AutonomousActionCatalog
-- Every candidate action and what became of it:
--   Proposed -> AwaitingApproval -> Approved | Rejected
--   Proposed | Approved -> Executing -> Applied -> Kept | Reverting -> Reverted
--   any step can end Failed. The statement is rebuilt from the typed columns when it runs (never
--   executed from Command, which shows what will run), with its revert, before-state and verdict.
--   TargetColumns is a JSON array of column names.
IF OBJECT_ID(N'dbo.AutonomousActions', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.AutonomousActions (
        ActionId      BIGINT IDENTITY(1, 1) NOT NULL,
        CycleId       BIGINT         NULL,
        ObservationId BIGINT         NULL,
        ActionType    NVARCHAR(64)   NOT NULL,
        TargetSchema  NVARCHAR(128)  NULL,
        TargetName    NVARCHAR(128)  NULL,
        TargetColumns NVARCHAR(400)  NULL,
        Parameters    NVARCHAR(MAX)  NULL,
        Command       NVARCHAR(MAX)  NOT NULL,
        RevertCommand NVARCHAR(MAX)  NULL,
        ExpectedGain  FLOAT          NOT NULL CONSTRAINT DF_AutonomousActions_ExpectedGain DEFAULT (0),
        Score         FLOAT          NOT NULL CONSTRAINT DF_AutonomousActions_Score DEFAULT (0),
        Reason        NVARCHAR(1000) NULL,
        Status        NVARCHAR(16)   NOT NULL CONSTRAINT DF_AutonomousActions_Status DEFAULT (N'Proposed'),
        StatusReason  NVARCHAR(4000) NULL,
        BeforeState   NVARCHAR(MAX)  NULL,
        AfterState    NVARCHAR(MAX)  NULL,
        MetricBefore  FLOAT          NULL,
        MetricAfter   FLOAT          NULL,
        ProposedAt    DATETIME2(3)   NOT NULL CONSTRAINT DF_AutonomousActions_ProposedAt DEFAULT (SYSUTCDATETIME()),
        DecidedBy     NVARCHAR(128)  NULL,
        DecidedAt     DATETIME2(3)   NULL,
        AppliedAt     DATETIME2(3)   NULL,
        ValidateAfter DATETIME2(3)   NULL,
        JudgedAt      DATETIME2(3)   NULL,
        ErrorMessage  NVARCHAR(MAX)  NULL,
        CONSTRAINT PK_AutonomousActions PRIMARY KEY CLUSTERED (ActionId),
        CONSTRAINT FK_AutonomousActions_Cycles FOREIGN KEY (CycleId) REFERENCES dbo.AutonomousCycles (CycleId),
        CONSTRAINT FK_AutonomousActions_Observations FOREIGN KEY (ObservationId) REFERENCES dbo.AutonomousObservations (ObservationId),
        CONSTRAINT FK_AutonomousActions_Catalog FOREIGN KEY (ActionType) REFERENCES dbo.AutonomousActionCatalog (ActionType),
        CONSTRAINT CK_AutonomousActions_Status CHECK (Status IN (
            N'Proposed', N'AwaitingApproval', N'Approved', N'Rejected', N'Executing', N'Applied', N'Kept',
            N'Reverting', N'Reverted', N'Failed')),
        CONSTRAINT CK_AutonomousActions_Json CHECK ((Parameters IS NULL OR ISJSON(Parameters) = 1)
            AND (TargetColumns IS NULL OR ISJSON(TargetColumns) = 1) AND (BeforeState IS NULL OR ISJSON(BeforeState) = 1)
            AND (AfterState IS NULL OR ISJSON(AfterState) = 1))
    );
    -- one open action per type and target: a finding seen again does not queue the same work twice
    CREATE UNIQUE INDEX UX_AutonomousActions_Open ON dbo.AutonomousActions (ActionType, TargetSchema, TargetName, TargetColumns)
        WHERE Status IN (N'Proposed', N'AwaitingApproval', N'Approved', N'Executing', N'Applied', N'Reverting');
    CREATE INDEX IX_AutonomousActions_Status ON dbo.AutonomousActions (Status);
END;
