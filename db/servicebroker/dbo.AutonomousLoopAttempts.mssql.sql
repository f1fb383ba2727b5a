-- kind: table
-- engine-specific: what a Service Broker message cannot carry by itself, its failed attempts and a delayed delivery; PostgreSQL keeps both in the row of the message (dbo.AutonomousLoopMessages.Attempts, VisibleAt)
-- One row per conversation of the loop's queues whose message waits to be delivered again: a message
-- sent with a delay (dbo.sp_SendLoopMessage: the body waits here until the conversation's timer
-- fires, and its DialogTimer message is read as that message), a message whose phase failed and is
-- retried after LOOP_RETRY_SECONDS, then twice that, and a message whose transaction was lost with
-- its phase (rolled back whole), counted here so its next delivery knows how often it failed.
-- dbo.sp_ProcessLoopMessages writes it after rolling back to its savepoint, so a row survives the
-- failure it records, and deletes it when the message is done or dead-lettered.
IF OBJECT_ID(N'dbo.AutonomousLoopAttempts', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.AutonomousLoopAttempts (
        ConversationHandle UNIQUEIDENTIFIER NOT NULL,
        QueueName          NVARCHAR(128)    NOT NULL,
        MessageId          BIGINT           NOT NULL,
        Body               NVARCHAR(MAX)    NOT NULL,
        Attempts           INT              NOT NULL CONSTRAINT DF_AutonomousLoopAttempts_Attempts DEFAULT (0),
        LastError          NVARCHAR(MAX)    NULL,
        EnqueuedAt         DATETIME2(3)     NOT NULL CONSTRAINT DF_AutonomousLoopAttempts_EnqueuedAt DEFAULT (SYSUTCDATETIME()),
        RetryAt            DATETIME2(3)     NULL,
        CONSTRAINT PK_AutonomousLoopAttempts PRIMARY KEY CLUSTERED (ConversationHandle),
        CONSTRAINT CK_AutonomousLoopAttempts_Queue CHECK (QueueName IN (N'AnalyzeQueue', N'HypothesizeQueue', N'ActQueue', N'LearnQueue')),
        CONSTRAINT CK_AutonomousLoopAttempts_Attempts CHECK (Attempts >= 0)
    );
    CREATE INDEX IX_AutonomousLoopAttempts_Message ON dbo.AutonomousLoopAttempts (MessageId);
END;
