-- kind: extension
-- engine-specific: PostGIS gives PostgreSQL the geometry type and n-d GiST indexes that SQL Server has built in
CREATE EXTENSION IF NOT EXISTS postgis;
