-- Objects created on the target by hand, in the package's schema.
CREATE TABLE dbo.HandMade (Id integer PRIMARY KEY);
CREATE FUNCTION dbo.fn_HandMade() RETURNS integer LANGUAGE sql AS 'SELECT 1';
