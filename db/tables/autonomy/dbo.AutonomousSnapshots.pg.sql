-- kind: table
-- requires: dbo.AutonomousCycles
-- The counters sp_Analyze reads each cycle (statements, tables, indexes), so later cycles see what
-- happened in between: the engine's statistics are cumulative; and its daily measures of each vector
-- index graph's search recall (vector_index: one a day per graph).
CREATE TABLE IF NOT EXISTS dbo.AutonomousSnapshots (
    CycleId    bigint      NOT NULL,
    Kind       text        NOT NULL,
    ObjectName text        NOT NULL,
    Counters   jsonb       NOT NULL,
    CapturedAt timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT PK_AutonomousSnapshots PRIMARY KEY (CycleId, Kind, ObjectName),
    CONSTRAINT FK_AutonomousSnapshots_Cycles FOREIGN KEY (CycleId) REFERENCES dbo.AutonomousCycles (CycleId) ON DELETE CASCADE,
    CONSTRAINT CK_AutonomousSnapshots_Kind CHECK (Kind IN ('statement', 'table', 'index', 'vector_index'))
);
