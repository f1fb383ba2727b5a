-- kind: procedure
-- requires: dbo.sp_ReceiveLoopMessage, dbo.sp_SendLoopMessage, dbo.fn_LoopAnalyzePending, dbo.AutonomousLoopAttempts, dbo.AutonomousLoopDeadLetters, dbo.AutonomousLoopMessageIds, dbo.OODALoopMetrics, dbo.AutonomousLoopSettings, dbo.sp_Analyze, dbo.sp_Hypothesize, dbo.sp_Act, dbo.sp_Learn, dbo.sp_ExecuteOnlineActions, dbo.AutonomousActions, dbo.AutonomousActionCatalog, dbo.AutonomousImprovementHistory
-- engine-specific: SQL Server's dispatcher, which Service Broker activation runs through the phase procedures; PostgreSQL's is dbo.sp_RunAutonomousLoop with dbo.fn_ClaimLoopMessage and dbo.sp_ProcessLoopMessage
-- Read one of the loop's queues until it stays empty for a second (Remus Rusanu's activation loop),
-- each message in a transaction of its own: receive it, run its phase with what its body says, send
-- the next phase's message (sp_Learn's: the next Analyze after IntervalSeconds, unless one waits),
-- end the conversation, all or nothing. The phase procedures call it when activation starts them
-- (every parameter at its default) and their queue holds messages; it calls them with the session
-- key hartonomous.loop_dispatch set, which tells them to run the phase and not the queue again.
-- A body that is not a JSON object goes to dbo.AutonomousLoopDeadLetters at once. A phase that
-- fails is rolled back to a savepoint taken after the RECEIVE, so the message stays received, the
-- failure is a row of dbo.OODALoopMetrics and the message comes back after LOOP_RETRY_SECONDS, then
-- twice that (sent again with that delay, its count in dbo.AutonomousLoopAttempts); its
-- LOOP_MAX_ATTEMPTS-th failure dead-letters it. An error that dooms the transaction takes the
-- RECEIVE with it: the attempt is counted in a transaction of its own and the message's next
-- delivery is delayed or dead-lettered by that count, so Service Broker never sees five rollbacks of
-- one message in a row (and poison message handling is off anyway: the queue stays enabled).
-- A dead letter breaks the chain of phases: an Analyze is queued IntervalSeconds later unless one
-- is pending (dbo.fn_LoopAnalyzePending, the one definition Learn, this and loop start share). A
-- Service Broker Error on a conversation (END CONVERSATION then deletes what still waits on it) is a
-- dead letter too: the stored body, the phase message still queued on it, or the Error's text.
-- A lock conflict (another phase holds hartonomous.autonomous_loop, error 1222) or a deadlock
-- victim (1205) is retried after LOOP_RETRY_SECONDS without counting an attempt (its failure row
-- says so): the phase never ran, or was rolled back whole for no fault of its message.
-- An action whose error doomed sp_Act's transaction is named in SESSION_CONTEXT(N'hartonomous.
-- doomed_action'); right after the rollback, in this session (the retry usually arrives in another
-- activation session, which would never see the key), it is recorded Failed (history row,
-- FailedCount) in the transaction that counts the attempt, and the key is cleared: the retry does
-- not run it again, so one bad action cannot doom every attempt until the message is dead-lettered.
-- PostgreSQL counts it like any failure; here the applock gives up after 5 s, and three of them in
-- 15 s would dead-letter a message that never failed. An error outside the phase (the bookkeeping)
-- rolls the RECEIVE back and is counted in a transaction of its own, like a doomed phase.
-- Activation runs this with the database's default SET options: the ones writes to tables with
-- filtered indexes need (Msg 1934 otherwise) are set first, and hold for the phases it calls.
-- The session key holds the queue and this reader's @@NESTLEVEL: a key an uncatchable error left
-- behind (no ancestor reader at a lower level in an open transaction) is cleared, not obeyed.
-- Nothing is read while dbo.AutonomousLoopSettings.Enabled = 0 (python -m deployer loop stop).
CREATE OR ALTER PROCEDURE dbo.sp_ProcessLoopMessages
    @QueueName NVARCHAR(128)
WITH EXECUTE AS OWNER
AS
BEGIN
    -- activation's session has the database's defaults, which may be OFF: indexed views, computed
    -- columns and filtered indexes (UX_AutonomousActions_Open, IX_AutonomousObservations_Status)
    -- refuse writes without these (Msg 1934); set here, they hold for the phases called below
    SET ANSI_WARNINGS ON;
    SET ANSI_PADDING ON;
    SET CONCAT_NULL_YIELDS_NULL ON;
    SET ARITHABORT ON;
    SET NUMERIC_ROUNDABORT OFF;
    SET NOCOUNT ON;
    -- OFF, whatever the caller's session says: with XACT_ABORT ON every error in a phase dooms the
    -- transaction, and the rollback to the savepoint after the RECEIVE, which keeps the message
    -- received while its failure is recorded, would be impossible
    SET XACT_ABORT OFF;
    DECLARE @Message NVARCHAR(2048), @Phase NVARCHAR(16), @OurType NVARCHAR(256), @IntervalSeconds INT;
    -- called in a transaction (a tSQLt test), each message's transaction nests in it and a doomed
    -- one is left to the caller to roll back
    DECLARE @Outer BIT = CASE WHEN @@TRANCOUNT > 0 THEN 1 ELSE 0 END, @EntryCount INT = @@TRANCOUNT;
    DECLARE @Handle UNIQUEIDENTIFIER, @Type NVARCHAR(256), @Received NVARCHAR(MAX), @Sequence BIGINT;
    DECLARE @Body NVARCHAR(MAX), @MessageId BIGINT, @Attempts INT, @LastError NVARCHAR(MAX), @EnqueuedAt DATETIME2(3),
            @RetryAt DATETIME2(3), @Stored BIT, @DeadReason NVARCHAR(MAX), @Failure NVARCHAR(MAX), @Record BIT,
            @ChainBroken BIT, @Delay FLOAT, @Sent BIGINT, @Next NVARCHAR(MAX), @Started DATETIME2(7), @LockConflict BIT;
    DECLARE @Doomed NVARCHAR(4000), @DoomedAction BIGINT, @DoomedError NVARCHAR(4000), @DoomedDetail NVARCHAR(MAX);
    DECLARE @Dispatch NVARCHAR(256) = CONVERT(NVARCHAR(256), SESSION_CONTEXT(N'hartonomous.loop_dispatch')), @DispatchLevel INT;
    DECLARE @Cycle BIGINT, @Tenant INT, @Scope NVARCHAR(32), @Lookback INT, @Trigger NVARCHAR(32);
    DECLARE @Whitespace NVARCHAR(10) = NCHAR(9) + NCHAR(10) + NCHAR(13) + NCHAR(32);
    DECLARE @EndDialog NVARCHAR(256) = N'http://schemas.microsoft.com/SQL/ServiceBroker/EndDialog';
    DECLARE @BrokerError NVARCHAR(256) = N'http://schemas.microsoft.com/SQL/ServiceBroker/Error';
    DECLARE @DialogTimer NVARCHAR(256) = N'http://schemas.microsoft.com/SQL/ServiceBroker/DialogTimer';

    IF @QueueName IS NULL OR @QueueName NOT IN (N'AnalyzeQueue', N'HypothesizeQueue', N'ActQueue', N'LearnQueue')
    BEGIN
        SET @Message = CONCAT(N'sp_ProcessLoopMessages: QueueName must be AnalyzeQueue, HypothesizeQueue, ActQueue or LearnQueue, not ',
                              COALESCE(@QueueName, N'NULL'));
        THROW 51221, @Message, 1;
    END;
    -- a phase that calls back into the queue it is run from would nest a second reader in the first
    -- one's transaction: refused, so the message fails and is retried instead of recursing. A live
    -- reader is an ancestor: a lower @@NESTLEVEL, in a transaction (each message has one). A key
    -- that is neither was left by a reader an uncatchable error stopped (an attention, a killed
    -- batch: no CATCH ran) and is cleared, or every later reader of this session would be refused.
    SET @DispatchLevel = TRY_CAST(SUBSTRING(@Dispatch, CHARINDEX(N'@', @Dispatch) + 1, 16) AS INT);
    IF @Dispatch IS NOT NULL AND @@TRANCOUNT > 0 AND (@DispatchLevel IS NULL OR @DispatchLevel < @@NESTLEVEL)
    BEGIN
        SET @Message = CONCAT(N'sp_ProcessLoopMessages: already reading ', @Dispatch,
                              N' in this session; a phase it runs must run its phase, not read its queue again');
        THROW 51222, @Message, 1;
    END;
    IF @Dispatch IS NOT NULL
        EXEC sys.sp_set_session_context @key = N'hartonomous.loop_dispatch', @value = NULL;
    IF EXISTS (SELECT 1 FROM dbo.AutonomousLoopSettings AS s WHERE s.SettingsId = 1 AND s.Enabled = 0)
        RETURN;
    SET @Phase = REPLACE(@QueueName, N'Queue', N'');
    SET @OurType = CONCAT(N'//Hartonomous/AutonomousLoop/', @Phase, N'Message');
    SET @IntervalSeconds = COALESCE((SELECT s.IntervalSeconds FROM dbo.AutonomousLoopSettings AS s WHERE s.SettingsId = 1),
                                    {{ policy.LOOP_INTERVAL_SECONDS }});

    SET @Dispatch = CONCAT(@QueueName, N'@', @@NESTLEVEL);
    EXEC sys.sp_set_session_context @key = N'hartonomous.loop_dispatch', @value = @Dispatch;
    BEGIN TRY
        WHILE 1 = 1
        BEGIN
            SET @Handle = NULL;  -- the outer CATCH counts an attempt for the message in work only
            -- switched off while reading (python -m deployer loop stop): the rest waits in the queue
            IF EXISTS (SELECT 1 FROM dbo.AutonomousLoopSettings AS s WHERE s.SettingsId = 1 AND s.Enabled = 0)
                BREAK;
            SELECT @Handle = NULL, @Type = NULL, @Received = NULL, @Sequence = NULL, @Body = NULL, @MessageId = NULL,
                   @Attempts = 0, @LastError = NULL, @EnqueuedAt = NULL, @RetryAt = NULL, @Stored = 0, @DeadReason = NULL,
                   @Failure = NULL, @Record = 0, @ChainBroken = 0, @Cycle = NULL, @Tenant = NULL, @Scope = NULL,
                   @Lookback = NULL, @Trigger = NULL, @Started = SYSUTCDATETIME(), @LockConflict = 0;
            BEGIN TRANSACTION;
            EXEC dbo.sp_ReceiveLoopMessage @QueueName = @QueueName, @TimeoutMs = 1000, @Handle = @Handle OUTPUT,
                @MessageType = @Type OUTPUT, @Body = @Received OUTPUT, @Sequence = @Sequence OUTPUT;
            IF @Handle IS NULL
            BEGIN
                COMMIT TRANSACTION;
                BREAK;
            END;
            IF @Type = @EndDialog
            BEGIN
                -- the other side ended it after its work (or our initiator's side of a message we read);
                -- a count the outer CATCH left for it goes with it
                DELETE FROM dbo.AutonomousLoopAttempts WHERE ConversationHandle = @Handle;
                END CONVERSATION @Handle;
                COMMIT TRANSACTION;
                CONTINUE;
            END;

            SELECT @Stored = 1, @MessageId = a.MessageId, @Body = a.Body, @Attempts = a.Attempts, @LastError = a.LastError,
                   @EnqueuedAt = a.EnqueuedAt, @RetryAt = a.RetryAt
            FROM dbo.AutonomousLoopAttempts AS a
            WHERE a.ConversationHandle = @Handle;

            IF @Type = @BrokerError
            BEGIN
                -- the dialog failed (a delayed one's LIFETIME ran out, the other side ended it with an
                -- error, the broker could not deliver): END CONVERSATION deletes what still waits on
                -- it, so what we know of its message is dead-lettered (the body stored for it, the
                -- phase message still queued on it, else the Error's text) and the chain restarts
                SELECT @Failure = CONCAT(N'Service Broker ended the conversation with an error: ', LEFT(@Received, 3000)),
                       @Record = 1, @Attempts = @Attempts + 1, @EnqueuedAt = COALESCE(@EnqueuedAt, SYSUTCDATETIME());
                SET @DeadReason = @Failure;
                IF @Stored = 0 AND @QueueName = N'AnalyzeQueue'
                    SELECT TOP (1) @Body = CAST(q.message_body AS NVARCHAR(MAX)) FROM dbo.AnalyzeQueue AS q
                    WHERE q.conversation_handle = @Handle AND q.message_type_name = @OurType ORDER BY q.message_sequence_number;
                ELSE IF @Stored = 0 AND @QueueName = N'HypothesizeQueue'
                    SELECT TOP (1) @Body = CAST(q.message_body AS NVARCHAR(MAX)) FROM dbo.HypothesizeQueue AS q
                    WHERE q.conversation_handle = @Handle AND q.message_type_name = @OurType ORDER BY q.message_sequence_number;
                ELSE IF @Stored = 0 AND @QueueName = N'ActQueue'
                    SELECT TOP (1) @Body = CAST(q.message_body AS NVARCHAR(MAX)) FROM dbo.ActQueue AS q
                    WHERE q.conversation_handle = @Handle AND q.message_type_name = @OurType ORDER BY q.message_sequence_number;
                ELSE IF @Stored = 0
                    SELECT TOP (1) @Body = CAST(q.message_body AS NVARCHAR(MAX)) FROM dbo.LearnQueue AS q
                    WHERE q.conversation_handle = @Handle AND q.message_type_name = @OurType ORDER BY q.message_sequence_number;
                SET @Body = COALESCE(@Body, @Received, N'');
                IF @MessageId IS NULL AND ISJSON(@Body) = 1
                    SET @MessageId = TRY_CAST(JSON_VALUE(@Body, '$.message_id') AS BIGINT);
            END
            ELSE IF @Type = @DialogTimer AND @Stored = 0
            BEGIN
                -- a timer nothing waits for (its message was dead-lettered or ended): only the conversation to end
                END CONVERSATION @Handle;
                COMMIT TRANSACTION;
                CONTINUE;
            END
            ELSE IF @Type = @OurType OR @Type = @DialogTimer
            BEGIN
                SET @Body = CASE WHEN @Type = @OurType THEN COALESCE(@Received, N'') ELSE @Body END;
                SET @EnqueuedAt = COALESCE(@EnqueuedAt, SYSUTCDATETIME());
                IF ISJSON(@Body) = 0 OR SUBSTRING(@Body, PATINDEX(N'%[^' + @Whitespace + N']%', @Body), 1) <> N'{'
                    SET @DeadReason = N'malformed message body: not a JSON object';
                ELSE
                BEGIN
                    SELECT @Cycle = TRY_CAST(JSON_VALUE(@Body, '$.cycle') AS BIGINT),
                           @Tenant = TRY_CAST(JSON_VALUE(@Body, '$.tenant') AS INT),
                           @Lookback = TRY_CAST(JSON_VALUE(@Body, '$.lookback_hours') AS INT),
                           @Scope = LEFT(COALESCE(JSON_VALUE(@Body, '$.scope'), N'full'), 32),
                           @Trigger = LEFT(COALESCE(JSON_VALUE(@Body, '$.trigger'), N'loop'), 32),
                           @MessageId = COALESCE(@MessageId, TRY_CAST(JSON_VALUE(@Body, '$.message_id') AS BIGINT));
                    IF @Cycle IS NULL AND JSON_VALUE(@Body, '$.cycle') IS NOT NULL
                        SET @DeadReason = N'malformed message body: cycle is not a number';
                    ELSE IF @Tenant IS NULL AND JSON_VALUE(@Body, '$.tenant') IS NOT NULL
                        SET @DeadReason = N'malformed message body: tenant is not a number';
                    ELSE IF @Lookback IS NULL AND JSON_VALUE(@Body, '$.lookback_hours') IS NOT NULL
                        SET @DeadReason = N'malformed message body: lookback_hours is not a number';
                END;
                IF @DeadReason IS NOT NULL
                    SELECT @Failure = @DeadReason, @Record = 1, @Attempts = @Attempts + 1;
                ELSE IF @Attempts >= {{ policy.LOOP_MAX_ATTEMPTS }}
                    -- counted after a rollback that took its RECEIVE: its last attempt never finished
                    SET @DeadReason = CONCAT(COALESCE(@LastError + N'; ', N''),
                                             N'its last attempt never finished (its transaction was rolled back whole)');
            END
            ELSE
                SELECT @Body = COALESCE(@Received, N''), @EnqueuedAt = SYSUTCDATETIME(), @Attempts = 1, @Record = 1,
                       @DeadReason = CONCAT(N'malformed message: unexpected message type ', @Type),
                       @Failure = CONCAT(N'malformed message: unexpected message type ', @Type);
            -- (NEXT VALUE FOR is not allowed inside COALESCE)
            IF @MessageId IS NULL
                SET @MessageId = NEXT VALUE FOR dbo.AutonomousLoopMessageIds;

            IF @DeadReason IS NULL AND @Stored = 1 AND @RetryAt > DATEADD(SECOND, 1, SYSUTCDATETIME())
            BEGIN
                -- back in the queue after a rollback that took its RECEIVE, before its retry delay is
                -- over (a timer fires at its RetryAt, not a second before): it waits out the rest as a
                -- delayed message, with its count, on a conversation of its own
                SET @Delay = DATEDIFF_BIG(MILLISECOND, SYSUTCDATETIME(), @RetryAt) / 1000.0;
                SET @Body = JSON_MODIFY(@Body, '$.message_id', @MessageId);
                EXEC dbo.sp_SendLoopMessage @QueueName = @QueueName, @Body = @Body, @DelaySeconds = @Delay, @MessageId = @Sent OUTPUT;
                UPDATE dbo.AutonomousLoopAttempts
                SET Attempts = @Attempts, LastError = @LastError, EnqueuedAt = @EnqueuedAt
                WHERE MessageId = @Sent AND QueueName = @QueueName AND ConversationHandle <> @Handle AND Attempts = 0;
                DELETE FROM dbo.AutonomousLoopAttempts WHERE ConversationHandle = @Handle;
                END CONVERSATION @Handle;
                COMMIT TRANSACTION;
                CONTINUE;
            END;

            IF @DeadReason IS NULL
            BEGIN
                SAVE TRANSACTION loop_phase;
                BEGIN TRY
                    IF @Phase = N'Analyze'
                    BEGIN
                        EXEC dbo.sp_Analyze @TenantId = @Tenant, @AnalysisScope = @Scope, @LookbackHours = @Lookback,
                            @CycleId = @Cycle OUTPUT, @TriggeredBy = @Trigger;
                        SET @Next = JSON_MODIFY(JSON_MODIFY(N'{}', '$.cycle', @Cycle), '$.tenant', @Tenant);
                        EXEC dbo.sp_SendLoopMessage @QueueName = N'HypothesizeQueue', @Body = @Next, @DelaySeconds = 0,
                            @MessageId = @Sent OUTPUT;
                    END
                    ELSE IF @Phase = N'Hypothesize'
                    BEGIN
                        EXEC dbo.sp_Hypothesize @TenantId = @Tenant, @CycleId = @Cycle OUTPUT;
                        SET @Next = JSON_MODIFY(JSON_MODIFY(N'{}', '$.cycle', @Cycle), '$.tenant', @Tenant);
                        EXEC dbo.sp_SendLoopMessage @QueueName = N'ActQueue', @Body = @Next, @DelaySeconds = 0,
                            @MessageId = @Sent OUTPUT;
                    END
                    ELSE IF @Phase = N'Act'
                    BEGIN
                        EXEC dbo.sp_Act @TenantId = @Tenant, @AutoApproveThreshold = NULL, @MaxChangesPerRun = NULL,
                            @RequireHumanApproval = NULL, @DryRun = 0, @CycleId = @Cycle OUTPUT;
                        SET @Next = JSON_MODIFY(JSON_MODIFY(N'{}', '$.cycle', @Cycle), '$.tenant', @Tenant);
                        EXEC dbo.sp_SendLoopMessage @QueueName = N'LearnQueue', @Body = @Next, @DelaySeconds = 0,
                            @MessageId = @Sent OUTPUT;
                    END
                    ELSE
                    BEGIN
                        EXEC dbo.sp_Learn @TenantId = @Tenant, @CycleId = @Cycle OUTPUT;
                        SET @Next = JSON_MODIFY(N'{}', '$.tenant', @Tenant);
                        SET @Delay = @IntervalSeconds;
                        IF NOT EXISTS (SELECT 1 FROM dbo.fn_LoopAnalyzePending(@Handle) AS p WHERE p.Pending = 1)
                            EXEC dbo.sp_SendLoopMessage @QueueName = N'AnalyzeQueue', @Body = @Next, @DelaySeconds = @Delay,
                                @MessageId = @Sent OUTPUT;
                    END;
                    END CONVERSATION @Handle;
                    DELETE FROM dbo.AutonomousLoopAttempts WHERE ConversationHandle = @Handle;
                    COMMIT TRANSACTION;
                    SET @Handle = NULL;  -- done: nothing of it for the outer CATCH to count
                    -- what sp_Act left Executing and sp_Learn left Reverting runs now, outside this
                    -- transaction, each action in one of its own (a caller's transaction leaves them
                    -- to the next run)
                    IF @Phase IN (N'Act', N'Learn') AND @Outer = 0
                        EXEC dbo.sp_ExecuteOnlineActions;
                    CONTINUE;
                END TRY
                BEGIN CATCH
                    SET @Failure = ERROR_MESSAGE();
                    -- a lock conflict: another phase holds hartonomous.autonomous_loop (the phases'
                    -- sp_getapplock refusals), a lock wait ran past LOCK_TIMEOUT (1222), or the phase
                    -- was chosen as a deadlock victim (1205, rolled back whole). It is retried after
                    -- LOOP_RETRY_SECONDS and no attempt is counted
                    IF ERROR_NUMBER() IN (1205, 1222, 51302, 51311, 51403, 51410)
                        SELECT @LockConflict = 1,
                               @Failure = CONCAT(N'lock conflict, retried without counting an attempt: ', @Failure);
                    IF XACT_STATE() = 1
                    BEGIN
                        -- the phase's work is undone, the RECEIVE is not: the failure is recorded
                        -- with the message still ours
                        ROLLBACK TRANSACTION loop_phase;
                        SELECT @Record = 1, @Attempts = @Attempts + CASE WHEN @LockConflict = 1 THEN 0 ELSE 1 END;
                        IF @LockConflict = 0 AND @Attempts >= {{ policy.LOOP_MAX_ATTEMPTS }}
                            SET @DeadReason = @Failure;
                        ELSE
                        BEGIN
                            INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ErrorMessage)
                            VALUES (@Cycle, @Phase, DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0, 0, @Failure);
                            SET @Delay = CASE WHEN @LockConflict = 1 OR @Attempts < 1 THEN {{ policy.LOOP_RETRY_SECONDS }}
                                              ELSE {{ policy.LOOP_RETRY_SECONDS }} * POWER(CAST(2 AS FLOAT), @Attempts - 1) END;
                            SET @Body = JSON_MODIFY(@Body, '$.message_id', @MessageId);
                            EXEC dbo.sp_SendLoopMessage @QueueName = @QueueName, @Body = @Body, @DelaySeconds = @Delay,
                                @MessageId = @Sent OUTPUT;
                            UPDATE dbo.AutonomousLoopAttempts
                            SET Attempts = @Attempts, LastError = @Failure, EnqueuedAt = @EnqueuedAt
                            WHERE MessageId = @Sent AND QueueName = @QueueName AND ConversationHandle <> @Handle AND Attempts = 0;
                            DELETE FROM dbo.AutonomousLoopAttempts WHERE ConversationHandle = @Handle;
                            END CONVERSATION @Handle;
                            COMMIT TRANSACTION;
                            CONTINUE;
                        END;
                    END
                    ELSE IF @Outer = 1
                        -- a doomed transaction of our caller's: the caller rolls it back
                        THROW;
                    ELSE
                    BEGIN
                        -- doomed: the RECEIVE goes with the rollback and the message returns to the
                        -- queue; its attempt is counted in a transaction of its own, and its next
                        -- delivery waits out the retry delay or is dead-lettered
                        IF XACT_STATE() <> 0
                            ROLLBACK TRANSACTION;
                        -- the action sp_Act named as having doomed it (the session context survives the
                        -- rollback): recorded Failed below, with the attempt, while this session has it
                        SET @Doomed = CAST(SESSION_CONTEXT(N'hartonomous.doomed_action') AS NVARCHAR(4000));
                        SET @DoomedAction = CASE WHEN ISJSON(@Doomed) = 1 THEN TRY_CAST(JSON_VALUE(@Doomed, N'$.action') AS BIGINT) END;
                        SET @DoomedError = LEFT(CONCAT(N'its error doomed the phase''s transaction: ',
                                                       CASE WHEN ISJSON(@Doomed) = 1 THEN JSON_VALUE(@Doomed, N'$.error') END), 4000);
                        SET @DoomedDetail = (SELECT @DoomedError AS error FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
                        SET @Attempts = @Attempts + CASE WHEN @LockConflict = 1 THEN 0 ELSE 1 END;
                        SET @RetryAt = DATEADD(SECOND, CASE WHEN @LockConflict = 1 OR @Attempts < 1 THEN {{ policy.LOOP_RETRY_SECONDS }}
                                                            ELSE {{ policy.LOOP_RETRY_SECONDS }} * POWER(2, @Attempts - 1) END,
                                               SYSUTCDATETIME());
                        BEGIN TRANSACTION;
                        INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ErrorMessage)
                        VALUES (@Cycle, @Phase, DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0, 0, @Failure);
                        UPDATE dbo.AutonomousLoopAttempts
                        SET Attempts = @Attempts, LastError = @Failure, RetryAt = @RetryAt
                        WHERE ConversationHandle = @Handle;
                        IF @@ROWCOUNT = 0
                            INSERT INTO dbo.AutonomousLoopAttempts (ConversationHandle, QueueName, MessageId, Body, Attempts, LastError,
                                                                    EnqueuedAt, RetryAt)
                            VALUES (@Handle, @QueueName, @MessageId, @Body, @Attempts, @Failure, @EnqueuedAt, @RetryAt);
                        IF @DoomedAction IS NOT NULL
                        BEGIN
                            -- only while it is still undecided: a person or an earlier run may have settled it
                            UPDATE dbo.AutonomousActions SET Status = N'Failed', ErrorMessage = @DoomedError, JudgedAt = SYSUTCDATETIME()
                            WHERE ActionId = @DoomedAction AND Status IN (N'Proposed', N'Approved', N'Executing');
                            IF @@ROWCOUNT > 0
                            BEGIN
                                INSERT INTO dbo.AutonomousImprovementHistory (ActionId, CycleId, ActionType, TargetObject, Verdict, Detail)
                                SELECT a.ActionId, a.CycleId, a.ActionType, CONCAT_WS(N'.', a.TargetSchema, a.TargetName), N'failed',
                                       @DoomedDetail
                                FROM dbo.AutonomousActions AS a WHERE a.ActionId = @DoomedAction;
                                UPDATE c SET FailedCount = c.FailedCount + 1
                                FROM dbo.AutonomousActionCatalog AS c
                                INNER JOIN dbo.AutonomousActions AS a ON a.ActionType = c.ActionType
                                WHERE a.ActionId = @DoomedAction;
                            END;
                        END;
                        COMMIT TRANSACTION;
                        IF @Doomed IS NOT NULL  -- recorded once
                            EXEC sys.sp_set_session_context @key = N'hartonomous.doomed_action', @value = NULL;
                        SET @Handle = NULL;  -- counted here: not again by the outer CATCH
                        CONTINUE;
                    END;
                END CATCH;
            END;

            -- dead letter: the message as it arrived, its attempts and why; the conversation ends
            IF @Record = 1
                INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ErrorMessage)
                VALUES (@Cycle, @Phase, DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0, 0, @Failure);
            INSERT INTO dbo.AutonomousLoopDeadLetters (MessageId, QueueName, MessageType, Body, Attempts, LastError, EnqueuedAt)
            VALUES (@MessageId, @QueueName, CASE WHEN @Type IN (@DialogTimer, @BrokerError) THEN @OurType ELSE @Type END,
                    @Body, @Attempts, @DeadReason, @EnqueuedAt);
            DELETE FROM dbo.AutonomousLoopAttempts WHERE ConversationHandle = @Handle;
            END CONVERSATION @Handle;
            -- the chain of phases broke here: the next cycle starts IntervalSeconds later, unless a
            -- next Analyze is pending (queued, or delayed on a live conversation; not this one)
            SET @Delay = @IntervalSeconds;
            IF NOT EXISTS (SELECT 1 FROM dbo.fn_LoopAnalyzePending(@Handle) AS p WHERE p.Pending = 1)
                EXEC dbo.sp_SendLoopMessage @QueueName = N'AnalyzeQueue', @Body = N'{"trigger": "dispatcher"}',
                    @DelaySeconds = @Delay, @MessageId = @Sent OUTPUT;
            COMMIT TRANSACTION;
            SET @Handle = NULL;
        END;
        EXEC sys.sp_set_session_context @key = N'hartonomous.loop_dispatch', @value = NULL;
    END TRY
    BEGIN CATCH
        -- what the loop above did not handle (the RECEIVE itself failed, or the bookkeeping did): the
        -- message, if any, returns to the queue with the rollback
        SET @Failure = ERROR_MESSAGE();
        IF @Outer = 0 AND XACT_STATE() <> 0
            ROLLBACK TRANSACTION;
        ELSE IF @Outer = 1 AND XACT_STATE() = 1 AND @@TRANCOUNT > @EntryCount
            COMMIT TRANSACTION;  -- only our nesting level: the caller's transaction decides
        -- its attempt is counted in a transaction of its own, as a doomed phase's is: received again,
        -- it waits out the retry delay, and at LOOP_MAX_ATTEMPTS it is dead-lettered, instead of
        -- coming back at once forever
        IF @Outer = 0 AND @Handle IS NOT NULL AND XACT_STATE() = 0
        BEGIN TRY
            IF @MessageId IS NULL
                SET @MessageId = NEXT VALUE FOR dbo.AutonomousLoopMessageIds;
            BEGIN TRANSACTION;
            UPDATE dbo.AutonomousLoopAttempts
            SET Attempts = Attempts + 1, LastError = @Failure,
                RetryAt = DATEADD(SECOND, {{ policy.LOOP_RETRY_SECONDS }} * POWER(2, Attempts), SYSUTCDATETIME())
            WHERE ConversationHandle = @Handle;
            IF @@ROWCOUNT = 0
                INSERT INTO dbo.AutonomousLoopAttempts (ConversationHandle, QueueName, MessageId, Body, Attempts, LastError,
                                                        EnqueuedAt, RetryAt)
                VALUES (@Handle, @QueueName, @MessageId, COALESCE(@Body, @Received, N''), 1, @Failure,
                        COALESCE(@EnqueuedAt, SYSUTCDATETIME()), DATEADD(SECOND, {{ policy.LOOP_RETRY_SECONDS }}, SYSUTCDATETIME()));
            COMMIT TRANSACTION;
        END TRY
        BEGIN CATCH
            -- the count is lost, not the error it counts: that one is raised below
            IF XACT_STATE() <> 0
                ROLLBACK TRANSACTION;
        END CATCH;
        EXEC sys.sp_set_session_context @key = N'hartonomous.loop_dispatch', @value = NULL;
        THROW;
    END CATCH;
END;
