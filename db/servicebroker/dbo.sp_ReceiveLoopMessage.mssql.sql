-- kind: procedure
-- requires: dbo.AnalyzeQueue, dbo.HypothesizeQueue, dbo.ActQueue, dbo.LearnQueue
-- engine-specific: Service Broker's RECEIVE for dbo.sp_ProcessLoopMessages; PostgreSQL claims a row of dbo.AutonomousLoopMessages (dbo.fn_ClaimLoopMessage)
-- Receive the next message of one of the loop's queues, waiting up to TimeoutMs for one: its
-- conversation (Handle), message type, body as text (NVARCHAR, as every sender sends it; an Error
-- message's XML as text) and sequence number in its conversation. Nothing within the timeout:
-- every output NULL. In the caller's transaction, which the caller must have begun: the message is
-- gone from the queue only when that transaction commits, and comes back if it rolls back.
-- Kept apart from the activation loop because sqlfluff cannot parse RECEIVE: this batch is small and
-- reviewed through its golden file, the loop's is parsed.
CREATE OR ALTER PROCEDURE dbo.sp_ReceiveLoopMessage
    @QueueName NVARCHAR(128),
    @TimeoutMs INT = 1000,
    @Handle UNIQUEIDENTIFIER = NULL OUTPUT,
    @MessageType NVARCHAR(256) = NULL OUTPUT,
    @Body NVARCHAR(MAX) = NULL OUTPUT,
    @Sequence BIGINT = NULL OUTPUT
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    SET @Handle = NULL;
    SET @MessageType = NULL;
    SET @Body = NULL;
    SET @Sequence = NULL;
    DECLARE @Raw VARBINARY(MAX), @Message NVARCHAR(2048);
    IF @QueueName IS NULL OR @QueueName NOT IN (N'AnalyzeQueue', N'HypothesizeQueue', N'ActQueue', N'LearnQueue')
    BEGIN
        SET @Message = CONCAT(N'sp_ReceiveLoopMessage: QueueName must be AnalyzeQueue, HypothesizeQueue, ActQueue or LearnQueue, not ',
                              COALESCE(@QueueName, N'NULL'));
        THROW 51211, @Message, 1;
    END;
    IF @TimeoutMs IS NULL OR @TimeoutMs < 0 OR @TimeoutMs > 60000
        THROW 51212, N'sp_ReceiveLoopMessage: TimeoutMs must be between 0 and 60000', 1;
    -- outside a transaction the RECEIVE would commit on its own and a failure after it lose the message
    IF @@TRANCOUNT = 0
        THROW 51213, N'sp_ReceiveLoopMessage: call it inside the transaction that does the work of the message', 1;

    -- a queue is named in RECEIVE, never a variable: one static branch a queue, no dynamic SQL
    IF @QueueName = N'AnalyzeQueue'
    BEGIN
        WAITFOR (
            RECEIVE TOP (1) @Handle = conversation_handle, @MessageType = message_type_name,
                            @Raw = message_body, @Sequence = message_sequence_number
            FROM dbo.AnalyzeQueue
        ), TIMEOUT @TimeoutMs;
    END
    ELSE IF @QueueName = N'HypothesizeQueue'
    BEGIN
        WAITFOR (
            RECEIVE TOP (1) @Handle = conversation_handle, @MessageType = message_type_name,
                            @Raw = message_body, @Sequence = message_sequence_number
            FROM dbo.HypothesizeQueue
        ), TIMEOUT @TimeoutMs;
    END
    ELSE IF @QueueName = N'ActQueue'
    BEGIN
        WAITFOR (
            RECEIVE TOP (1) @Handle = conversation_handle, @MessageType = message_type_name,
                            @Raw = message_body, @Sequence = message_sequence_number
            FROM dbo.ActQueue
        ), TIMEOUT @TimeoutMs;
    END
    ELSE
    BEGIN
        WAITFOR (
            RECEIVE TOP (1) @Handle = conversation_handle, @MessageType = message_type_name,
                            @Raw = message_body, @Sequence = message_sequence_number
            FROM dbo.LearnQueue
        ), TIMEOUT @TimeoutMs;
    END

    -- the broker's Error message is XML; every other body here was sent as NVARCHAR
    SET @Body = CASE WHEN @MessageType = N'http://schemas.microsoft.com/SQL/ServiceBroker/Error'
                     THEN CONVERT(NVARCHAR(MAX), TRY_CONVERT(XML, @Raw))
                     ELSE CONVERT(NVARCHAR(MAX), @Raw) END;
END;
