-- dbo.sp_SendLoopMessage: a queue name not of the loop, a body over 64 KiB and a delay out of range
-- are refused (51201, 51202, 51203); a message sent now is received on its queue with its body and
-- its number (message_id) added; a delayed one waits in dbo.AutonomousLoopAttempts for its timer; a
-- number the body has is kept, and a body that is not a JSON object is sent as it is.
-- Everything happens in the test's transaction, which tSQLt rolls back (the queue's messages too).
EXEC tSQLt.NewTestClass 'test_sp_SendLoopMessage';
GO

CREATE PROCEDURE test_sp_SendLoopMessage.[test a queue name not of the loop is refused (51201)]
AS
BEGIN
    DECLARE @MessageId BIGINT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51201,
        @ExpectedMessage = N'sp_SendLoopMessage: QueueName must be AnalyzeQueue, HypothesizeQueue, ActQueue or LearnQueue, not dbo.Atoms; DROP TABLE dbo.Atoms';
    EXEC dbo.sp_SendLoopMessage @QueueName = N'dbo.Atoms; DROP TABLE dbo.Atoms', @Body = N'{}', @MessageId = @MessageId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_SendLoopMessage.[test a body over 64 KiB is refused (51202)]
AS
BEGIN
    DECLARE @MessageId BIGINT, @Body NVARCHAR(MAX) = REPLICATE(CAST(N'x' AS NVARCHAR(MAX)), 70000);
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51202,
        @ExpectedMessage = N'sp_SendLoopMessage: Body must be given and at most 64 KiB';
    EXEC dbo.sp_SendLoopMessage @QueueName = N'AnalyzeQueue', @Body = @Body, @MessageId = @MessageId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_SendLoopMessage.[test a negative delay is refused (51203)]
AS
BEGIN
    DECLARE @MessageId BIGINT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51203,
        @ExpectedMessage = N'sp_SendLoopMessage: DelaySeconds must be between 0 and 31536000';
    EXEC dbo.sp_SendLoopMessage @QueueName = N'AnalyzeQueue', @Body = N'{}', @DelaySeconds = -1,
        @MessageId = @MessageId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_SendLoopMessage.[test a message sent now is received with its body and number]
AS
BEGIN
    DECLARE @MessageId BIGINT, @Handle UNIQUEIDENTIFIER, @Type NVARCHAR(256), @Body NVARCHAR(MAX), @Sequence BIGINT;
    DECLARE @FoundType NVARCHAR(256), @Cycle NVARCHAR(40), @Tries INT = 0, @Found BIT = 0;
    EXEC dbo.sp_SendLoopMessage @QueueName = N'HypothesizeQueue', @Body = N'{"cycle": 424242, "tenant": null}',
        @MessageId = @MessageId OUTPUT;
    -- the queue may hold messages of a running loop: read until this one comes (the rollback returns them)
    WHILE @Found = 0 AND @Tries < 100
    BEGIN
        SET @Tries = @Tries + 1;
        EXEC dbo.sp_ReceiveLoopMessage @QueueName = N'HypothesizeQueue', @TimeoutMs = 0, @Handle = @Handle OUTPUT,
            @MessageType = @Type OUTPUT, @Body = @Body OUTPUT, @Sequence = @Sequence OUTPUT;
        IF @Handle IS NULL
            BREAK;
        IF ISJSON(@Body) = 1 AND TRY_CAST(JSON_VALUE(@Body, '$.message_id') AS BIGINT) = @MessageId
            SELECT @Found = 1, @FoundType = @Type, @Cycle = JSON_VALUE(@Body, '$.cycle');
    END;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Found;
    EXEC tSQLt.AssertEqualsString @Expected = N'//Hartonomous/AutonomousLoop/HypothesizeMessage', @Actual = @FoundType;
    EXEC tSQLt.AssertEqualsString @Expected = N'424242', @Actual = @Cycle;
END;
GO

CREATE PROCEDURE test_sp_SendLoopMessage.[test a delayed message waits for its timer in dbo.AutonomousLoopAttempts]
AS
BEGIN
    DECLARE @MessageId BIGINT, @Rows INT, @Attempts INT, @Queue NVARCHAR(128), @Waits INT, @BodyId BIGINT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopAttempts';
    EXEC dbo.sp_SendLoopMessage @QueueName = N'ActQueue', @Body = N'{"cycle": 7}', @DelaySeconds = 60,
        @MessageId = @MessageId OUTPUT;
    SELECT @Rows = COUNT(*), @Attempts = MAX(a.Attempts), @Queue = MAX(a.QueueName),
           @Waits = MAX(DATEDIFF(SECOND, SYSUTCDATETIME(), a.RetryAt)),
           @BodyId = MAX(TRY_CAST(JSON_VALUE(a.Body, '$.message_id') AS BIGINT))
    FROM dbo.AutonomousLoopAttempts AS a
    WHERE a.MessageId = @MessageId;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Attempts;
    EXEC tSQLt.AssertEqualsString @Expected = N'ActQueue', @Actual = @Queue;
    EXEC tSQLt.AssertEquals @Expected = @MessageId, @Actual = @BodyId;
    IF @Waits NOT BETWEEN 55 AND 60
        EXEC tSQLt.Fail 'the delayed message should be due in about 60 seconds, not in ', @Waits;
END;
GO

CREATE PROCEDURE test_sp_SendLoopMessage.[test a number the body has is kept and other bodies are sent as they are]
AS
BEGIN
    DECLARE @Kept BIGINT, @Plain BIGINT, @Body NVARCHAR(4000);
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopAttempts';
    EXEC dbo.sp_SendLoopMessage @QueueName = N'LearnQueue', @Body = N'{"message_id": 987654321}', @DelaySeconds = 30,
        @MessageId = @Kept OUTPUT;
    EXEC dbo.sp_SendLoopMessage @QueueName = N'LearnQueue', @Body = N'this is not json', @DelaySeconds = 30,
        @MessageId = @Plain OUTPUT;
    SET @Body = (SELECT a.Body FROM dbo.AutonomousLoopAttempts AS a WHERE a.MessageId = @Plain);
    EXEC tSQLt.AssertEquals @Expected = 987654321, @Actual = @Kept;
    EXEC tSQLt.AssertEqualsString @Expected = N'this is not json', @Actual = @Body;
END;
GO
