-- kind: table
-- requires: dbo
-- The fitted landmarks of the 3-D spatial projection (hartonomous_ext.spatial): the sample's mean,
-- its top three principal axes (3 x Dimension float32 values), the bucket width, and the k-means
-- centres of the vector buckets (CentroidCount x Dimension float32 values, unit length). One set is
-- active; sp_RecomputeAllSpatialProjections fits a new one and projects every embedding with it.
IF OBJECT_ID(N'dbo.SpatialLandmarks', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.SpatialLandmarks (
        LandmarkSetId     INT IDENTITY(1, 1) NOT NULL,
        Method            NVARCHAR(16)   NOT NULL CONSTRAINT DF_SpatialLandmarks_Method DEFAULT (N'pca'),
        Dimension         INT            NOT NULL,
        MeanVector        VARBINARY(MAX) NOT NULL,
        Axes              VARBINARY(MAX) NOT NULL,
        BucketWidth       FLOAT          NOT NULL,
        ExplainedVariance FLOAT          NOT NULL,
        SampleSize        INT            NOT NULL,
        FittedAt          DATETIME2(3)   NOT NULL CONSTRAINT DF_SpatialLandmarks_FittedAt DEFAULT (SYSUTCDATETIME()),
        IsActive          BIT            NOT NULL CONSTRAINT DF_SpatialLandmarks_IsActive DEFAULT (1),
        Centroids         VARBINARY(MAX) NULL,
        CentroidCount     INT            NULL,
        CONSTRAINT PK_SpatialLandmarks PRIMARY KEY CLUSTERED (LandmarkSetId),
        CONSTRAINT CK_SpatialLandmarks_Shapes CHECK (DATALENGTH(MeanVector) = Dimension * 4
                                                     AND DATALENGTH(Axes) = 3 * Dimension * 4),
        CONSTRAINT CK_SpatialLandmarks_BucketWidth CHECK (BucketWidth > 0),
        CONSTRAINT CK_SpatialLandmarks_Centroids CHECK ((Centroids IS NULL AND CentroidCount IS NULL)
                                                        OR DATALENGTH(Centroids) = CentroidCount * Dimension * 4)
    );
    CREATE UNIQUE INDEX UX_SpatialLandmarks_Active ON dbo.SpatialLandmarks (IsActive) WHERE IsActive = 1;
END;
