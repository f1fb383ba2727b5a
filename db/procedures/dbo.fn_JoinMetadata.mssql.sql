-- kind: function
-- engine-specific: PostgreSQL joins metadata inline, with jsonb's || on two objects
-- Metadata given again for an atom, joined with what the atom has, as PostgreSQL's jsonb || joins
-- two objects: the keys given now are added or take their new value; anything but two objects is
-- replaced by what is given, and nothing given keeps what the atom has. Values are copied as their
-- JSON text, so numbers stay exactly as written. One rule for sp_IngestAtom and sp_IngestAtoms.
CREATE OR ALTER FUNCTION dbo.fn_JoinMetadata (@Had NVARCHAR(MAX), @Given NVARCHAR(MAX))
RETURNS NVARCHAR(MAX)
WITH SCHEMABINDING, INLINE = OFF  -- reads no table; not inlined (several RETURNs and STRING_AGG)
AS
BEGIN
    DECLARE @JsonBlank NVARCHAR(4) = CONCAT(N' ', NCHAR(9), NCHAR(10), NCHAR(13));
    IF @Given IS NULL
        RETURN @Had;
    IF @Had IS NULL OR LEFT(TRIM(@JsonBlank FROM @Had), 1) <> N'{' OR LEFT(TRIM(@JsonBlank FROM @Given), 1) <> N'{'
        RETURN @Given;
    RETURN (SELECT CONCAT(N'{', STRING_AGG(CAST(CONCAT(N'"', STRING_ESCAPE(k.[key], 'json'), N'":',
                       CASE k.[type] WHEN 0 THEN N'null'
                                     WHEN 1 THEN CONCAT(N'"', STRING_ESCAPE(k.[value], 'json'), N'"')
                                     ELSE k.[value] END) AS NVARCHAR(MAX)), N','), N'}')
            FROM (SELECT h.[key], h.[value], h.[type] FROM OPENJSON(@Had) AS h
                  WHERE NOT EXISTS (SELECT 1 FROM OPENJSON(@Given) AS g WHERE g.[key] = h.[key])
                  UNION ALL
                  SELECT g.[key], g.[value], g.[type] FROM OPENJSON(@Given) AS g) AS k);
END;
