-- SQL Server's spatial index is two-dimensional: it filters on X and Y; Z is kept in SpatialZ.
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_AtomEmbeddings_Spatial'
               AND object_id = OBJECT_ID(N'dbo.AtomEmbeddings'))
BEGIN
    CREATE SPATIAL INDEX IX_AtomEmbeddings_Spatial ON dbo.AtomEmbeddings (SpatialGeometry)
    USING GEOMETRY_GRID
    WITH (BOUNDING_BOX = (-2, -2, 2, 2), GRIDS = (LEVEL_1 = MEDIUM, LEVEL_2 = MEDIUM, LEVEL_3 = MEDIUM,
          LEVEL_4 = MEDIUM), CELLS_PER_OBJECT = 16);
END;
