-- kind: table
-- requires: dbo
-- engine-specific: a scenario's table
CREATE TABLE IF NOT EXISTS dbo.Scratch (
    ScratchId integer NOT NULL,
    Note      text    NULL,
    CONSTRAINT PK_Scratch PRIMARY KEY (ScratchId)
);
