-- Someone edits the database by hand, outside the package.
CREATE OR REPLACE FUNCTION dbo.fn_VectorSoftmax(v bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT v $$;
ALTER TABLE dbo.Models ADD COLUMN HandAdded integer NULL;
