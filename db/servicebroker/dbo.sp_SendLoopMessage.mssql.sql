-- kind: procedure
-- requires: dbo.AnalyzeQueue, dbo.HypothesizeQueue, dbo.ActQueue, dbo.LearnQueue, dbo.AutonomousLoopAttempts, dbo.AutonomousLoopMessageIds
-- Put a message on one of the loop's queues (AnalyzeQueue, HypothesizeQueue, ActQueue, LearnQueue),
-- delivered after DelaySeconds. A body that is a JSON object carries its number as message_id (one
-- it already has is kept, so a retried message keeps its number); any other body is sent as it is,
-- and the reader dead-letters it, as on PostgreSQL. MessageId returns the number.
-- DelaySeconds 0: a dialog from the queue's service to itself (BEGIN DIALOG, SEND), as the
-- runbook's restart does it; the reader ends it after the work. No LIFETIME (the default, the
-- largest INT of seconds): an expiry would only destroy a phase message that waits, e.g. while the
-- loop is stopped; a leaked endpoint shows in dbo.sp_HealthCheck (its "Orphans" row). A delay: the
-- body waits in dbo.AutonomousLoopAttempts and a conversation timer delivers it (its DialogTimer
-- message, on the same queue, is read as this message), whole seconds, rounded up.
-- In the caller's transaction when there is one (a savepoint undoes a failure here and nothing of
-- the caller's), in one of its own otherwise.
CREATE OR ALTER PROCEDURE dbo.sp_SendLoopMessage
    @QueueName NVARCHAR(128),
    @Body NVARCHAR(MAX) = N'{}',
    @DelaySeconds FLOAT = 0,
    @MessageId BIGINT = NULL OUTPUT
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    -- OFF: an error here must leave a caller's transaction committable, so that the caller's own
    -- savepoint (dbo.sp_ProcessLoopMessages) can still undo only what failed
    SET XACT_ABORT OFF;
    SET @MessageId = NULL;
    DECLARE @Handle UNIQUEIDENTIFIER, @Timeout INT, @Message NVARCHAR(2048), @Given NVARCHAR(4000);
    DECLARE @Outer BIT = CASE WHEN @@TRANCOUNT > 0 THEN 1 ELSE 0 END;
    DECLARE @Whitespace NVARCHAR(10) = NCHAR(9) + NCHAR(10) + NCHAR(13) + NCHAR(32);
    IF @QueueName IS NULL OR @QueueName NOT IN (N'AnalyzeQueue', N'HypothesizeQueue', N'ActQueue', N'LearnQueue')
    BEGIN
        SET @Message = CONCAT(N'sp_SendLoopMessage: QueueName must be AnalyzeQueue, HypothesizeQueue, ActQueue or LearnQueue, not ',
                              COALESCE(@QueueName, N'NULL'));
        THROW 51201, @Message, 1;
    END;
    -- 64 KiB of UTF-8, as PostgreSQL counts the same text
    IF @Body IS NULL OR DATALENGTH(CONVERT(VARCHAR(MAX), @Body COLLATE Latin1_General_100_BIN2_UTF8)) > 65536
        THROW 51202, N'sp_SendLoopMessage: Body must be given and at most 64 KiB', 1;
    IF @DelaySeconds IS NULL OR @DelaySeconds < 0 OR @DelaySeconds > 31536000
        THROW 51203, N'sp_SendLoopMessage: DelaySeconds must be between 0 and 31536000', 1;

    SET @Given = CASE WHEN ISJSON(@Body) = 1 THEN JSON_VALUE(@Body, '$.message_id') END;
    SET @MessageId = TRY_CAST(@Given AS BIGINT);
    IF @MessageId IS NULL
    BEGIN
        SET @MessageId = NEXT VALUE FOR dbo.AutonomousLoopMessageIds;
        -- a JSON object (ISJSON also accepts an array, and on 2022 and later a scalar): its first
        -- character that is not white space
        IF ISJSON(@Body) = 1 AND SUBSTRING(@Body, PATINDEX(N'%[^' + @Whitespace + N']%', @Body), 1) = N'{'
            SET @Body = JSON_MODIFY(@Body, '$.message_id', @MessageId);
    END;
    SET @Timeout = CONVERT(INT, CEILING(@DelaySeconds));

    BEGIN TRY
        IF @Outer = 1
            SAVE TRANSACTION sp_SendLoopMessage;
        ELSE
            BEGIN TRANSACTION;
        -- FROM SERVICE, ON CONTRACT and MESSAGE TYPE take names, not variables: one branch a queue
        IF @QueueName = N'AnalyzeQueue' AND @Timeout = 0
        BEGIN
            BEGIN DIALOG CONVERSATION @Handle
                FROM SERVICE [AnalyzeService] TO SERVICE N'AnalyzeService'
                ON CONTRACT [//Hartonomous/AutonomousLoop/AnalyzeContract]
                WITH ENCRYPTION = OFF;
            SEND ON CONVERSATION @Handle MESSAGE TYPE [//Hartonomous/AutonomousLoop/AnalyzeMessage] (@Body);
        END
        ELSE IF @QueueName = N'HypothesizeQueue' AND @Timeout = 0
        BEGIN
            BEGIN DIALOG CONVERSATION @Handle
                FROM SERVICE [HypothesizeService] TO SERVICE N'HypothesizeService'
                ON CONTRACT [//Hartonomous/AutonomousLoop/HypothesizeContract]
                WITH ENCRYPTION = OFF;
            SEND ON CONVERSATION @Handle MESSAGE TYPE [//Hartonomous/AutonomousLoop/HypothesizeMessage] (@Body);
        END
        ELSE IF @QueueName = N'ActQueue' AND @Timeout = 0
        BEGIN
            BEGIN DIALOG CONVERSATION @Handle
                FROM SERVICE [ActService] TO SERVICE N'ActService'
                ON CONTRACT [//Hartonomous/AutonomousLoop/ActContract]
                WITH ENCRYPTION = OFF;
            SEND ON CONVERSATION @Handle MESSAGE TYPE [//Hartonomous/AutonomousLoop/ActMessage] (@Body);
        END
        ELSE IF @QueueName = N'LearnQueue' AND @Timeout = 0
        BEGIN
            BEGIN DIALOG CONVERSATION @Handle
                FROM SERVICE [LearnService] TO SERVICE N'LearnService'
                ON CONTRACT [//Hartonomous/AutonomousLoop/LearnContract]
                WITH ENCRYPTION = OFF;
            SEND ON CONVERSATION @Handle MESSAGE TYPE [//Hartonomous/AutonomousLoop/LearnMessage] (@Body);
        END
        ELSE
        BEGIN
            -- a delayed message: only the initiator's endpoint exists until its timer fires (nothing
            -- is sent), so the DialogTimer arrives on the queue of the service it was begun from;
            -- LIFETIME outlasts the longest delay by a day, or the dialog would expire first
            IF @QueueName = N'AnalyzeQueue'
                BEGIN DIALOG CONVERSATION @Handle
                    FROM SERVICE [AnalyzeService] TO SERVICE N'AnalyzeService'
                    ON CONTRACT [//Hartonomous/AutonomousLoop/AnalyzeContract]
                    WITH ENCRYPTION = OFF, LIFETIME = 31622400;
            ELSE IF @QueueName = N'HypothesizeQueue'
                BEGIN DIALOG CONVERSATION @Handle
                    FROM SERVICE [HypothesizeService] TO SERVICE N'HypothesizeService'
                    ON CONTRACT [//Hartonomous/AutonomousLoop/HypothesizeContract]
                    WITH ENCRYPTION = OFF, LIFETIME = 31622400;
            ELSE IF @QueueName = N'ActQueue'
                BEGIN DIALOG CONVERSATION @Handle
                    FROM SERVICE [ActService] TO SERVICE N'ActService'
                    ON CONTRACT [//Hartonomous/AutonomousLoop/ActContract]
                    WITH ENCRYPTION = OFF, LIFETIME = 31622400;
            ELSE
                BEGIN DIALOG CONVERSATION @Handle
                    FROM SERVICE [LearnService] TO SERVICE N'LearnService'
                    ON CONTRACT [//Hartonomous/AutonomousLoop/LearnContract]
                    WITH ENCRYPTION = OFF, LIFETIME = 31622400;
            INSERT INTO dbo.AutonomousLoopAttempts (ConversationHandle, QueueName, MessageId, Body, Attempts, EnqueuedAt, RetryAt)
            VALUES (@Handle, @QueueName, @MessageId, @Body, 0, SYSUTCDATETIME(), DATEADD(SECOND, @Timeout, SYSUTCDATETIME()));
            BEGIN CONVERSATION TIMER (@Handle) TIMEOUT = @Timeout;
        END;
        IF @Outer = 0
            COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        -- a doomed caller's transaction is the caller's to roll back
        IF @Outer = 0 AND XACT_STATE() <> 0
            ROLLBACK TRANSACTION;
        ELSE IF @Outer = 1 AND XACT_STATE() = 1
            ROLLBACK TRANSACTION sp_SendLoopMessage;
        THROW;
    END CATCH;
END;
