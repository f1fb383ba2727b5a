-- kind: table
-- requires: dbo.AutonomousCycles
-- What sp_Analyze saw, one row per finding: its kind, the object, the measured value against its
-- baseline. sp_Hypothesize turns the New ones into candidate actions (or none) and marks them.
IF OBJECT_ID(N'dbo.AutonomousObservations', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.AutonomousObservations (
        ObservationId BIGINT IDENTITY(1, 1) NOT NULL,
        CycleId       BIGINT        NOT NULL,
        ObservedAt    DATETIME2(3)  NOT NULL CONSTRAINT DF_AutonomousObservations_ObservedAt DEFAULT (SYSUTCDATETIME()),
        Kind          NVARCHAR(32)  NOT NULL,
        TargetObject  NVARCHAR(512) NULL,
        Metric        FLOAT         NULL,
        Baseline      FLOAT         NULL,
        Detail        NVARCHAR(MAX) NULL,
        Status        NVARCHAR(16)  NOT NULL CONSTRAINT DF_AutonomousObservations_Status DEFAULT (N'New'),
        CONSTRAINT PK_AutonomousObservations PRIMARY KEY CLUSTERED (ObservationId),
        CONSTRAINT FK_AutonomousObservations_Cycles FOREIGN KEY (CycleId) REFERENCES dbo.AutonomousCycles (CycleId) ON DELETE CASCADE,
        CONSTRAINT CK_AutonomousObservations_Kind CHECK (Kind IN (
            N'latency_regression', N'seq_scan_hotspot', N'unused_index', N'index_bloat', N'stale_statistics',
            N'table_bloat', N'failed_ingestion', N'unprojected_embeddings', N'vector_index_delta',
            N'old_inference_requests', N'unarchived_billing', N'old_loop_history', N'queue_backlog', N'loop_failures',
            N'search_recall', N'concept_drift')),
        CONSTRAINT CK_AutonomousObservations_Status CHECK (Status IN (N'New', N'Considered')),
        CONSTRAINT CK_AutonomousObservations_Detail CHECK (Detail IS NULL OR ISJSON(Detail) = 1)
    );
    CREATE INDEX IX_AutonomousObservations_Status ON dbo.AutonomousObservations (Status) WHERE Status = N'New';
END;
