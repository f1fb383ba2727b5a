-- kind: table
-- Messages the loop gave up on, with why: a malformed body, or a phase that failed every attempt.
-- On SQL Server the activation loop (dbo.sp_ProcessLoopMessages) moves a poison message here instead
-- of rolling back its RECEIVE again and again, so Service Broker never disables the queue.
IF OBJECT_ID(N'dbo.AutonomousLoopDeadLetters', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.AutonomousLoopDeadLetters (
        DeadLetterId   BIGINT IDENTITY(1, 1) NOT NULL,
        MessageId      BIGINT         NOT NULL,
        QueueName      NVARCHAR(128)  NOT NULL,
        MessageType    NVARCHAR(256)  NOT NULL,
        Body           NVARCHAR(MAX)  NOT NULL,
        Attempts       INT            NOT NULL,
        LastError      NVARCHAR(MAX)  NULL,
        EnqueuedAt     DATETIME2(3)   NOT NULL,
        DeadLetteredAt DATETIME2(3)   NOT NULL CONSTRAINT DF_AutonomousLoopDeadLetters_DeadLetteredAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_AutonomousLoopDeadLetters PRIMARY KEY CLUSTERED (DeadLetterId)
    );
END;
