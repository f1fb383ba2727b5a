-- dbo.fn_JoinMetadata: metadata given again joins what an atom has as jsonb's || joins two objects
-- (keys given now win), anything else given replaces it, nothing given keeps it; values keep their
-- JSON text (numbers digit for digit).
EXEC tSQLt.NewTestClass 'test_fn_JoinMetadata';
GO

CREATE PROCEDURE test_fn_JoinMetadata.[test two objects join and the keys given now win]
AS
BEGIN
    DECLARE @Joined NVARCHAR(MAX) = dbo.fn_JoinMetadata(N'{"source": "first", "n": 12345678901234567890.5, "tags": [1, 2]}',
                                                        N' {"source": "second", "reviewed": true, "note": null}');
    SELECT [key], [value], [type] INTO #actual FROM OPENJSON(@Joined);
    SELECT TOP (0) * INTO #expected FROM #actual;
    INSERT INTO #expected ([key], [value], [type])
    VALUES (N'n', N'12345678901234567890.5', 2), (N'tags', N'[1, 2]', 4), (N'source', N'second', 1),
           (N'reviewed', N'true', 3), (N'note', NULL, 0);
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
END;
GO

CREATE PROCEDURE test_fn_JoinMetadata.[test anything but two objects is replaced by what is given]
AS
BEGIN
    DECLARE @Array NVARCHAR(MAX) = dbo.fn_JoinMetadata(N'{"a": 1}', N'[1, 2]');
    DECLARE @Object NVARCHAR(MAX) = dbo.fn_JoinMetadata(N'[1, 2]', N'{"a": null}');
    DECLARE @First NVARCHAR(MAX) = dbo.fn_JoinMetadata(NULL, N'{"a": 1}');
    EXEC tSQLt.AssertEqualsString @Expected = N'[1, 2]', @Actual = @Array;
    EXEC tSQLt.AssertEqualsString @Expected = N'{"a": null}', @Actual = @Object;
    EXEC tSQLt.AssertEqualsString @Expected = N'{"a": 1}', @Actual = @First;
END;
GO

CREATE PROCEDURE test_fn_JoinMetadata.[test nothing given keeps what the atom has]
AS
BEGIN
    DECLARE @Kept NVARCHAR(MAX) = dbo.fn_JoinMetadata(N'{"a": 1}', NULL);
    DECLARE @Nothing NVARCHAR(MAX) = dbo.fn_JoinMetadata(NULL, NULL);
    EXEC tSQLt.AssertEqualsString @Expected = N'{"a": 1}', @Actual = @Kept;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Nothing;
END;
GO
