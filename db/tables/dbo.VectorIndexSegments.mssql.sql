-- kind: table
-- requires: dbo
-- The vector index of each tenant and embedding type, as segments (hartonomous_ext.vector_index):
-- one 'hnsw' graph of what was indexed when it was built, with its calibrated EfSearch and the
-- recall@10 that calibration measured, plus 'flat' segments of the embeddings merged since. A
-- segment's bytes are in dbo.VectorIndexChunks and never change; a rebuild adds new segments and
-- retires the old. dbo.sp_BuildVectorIndex writes them.
IF OBJECT_ID(N'dbo.VectorIndexSegments', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.VectorIndexSegments (
        SegmentId        BIGINT IDENTITY(1, 1) NOT NULL,
        TenantId         INT            NOT NULL,
        EmbeddingType    NVARCHAR(64)   NOT NULL,
        Dimension        INT            NOT NULL,
        Kind             NVARCHAR(8)    NOT NULL,
        VectorCount      BIGINT         NOT NULL,
        ByteSize         BIGINT         NOT NULL,
        EfSearch         INT            NULL,
        CalibratedRecall FLOAT          NULL,
        Parameters       NVARCHAR(MAX)  NOT NULL CONSTRAINT DF_VectorIndexSegments_Parameters DEFAULT (N'{}'),
        IsActive         BIT            NOT NULL CONSTRAINT DF_VectorIndexSegments_IsActive DEFAULT (1),
        CreatedAt        DATETIME2(3)   NOT NULL CONSTRAINT DF_VectorIndexSegments_CreatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_VectorIndexSegments PRIMARY KEY CLUSTERED (SegmentId),
        CONSTRAINT CK_VectorIndexSegments_Kind CHECK (Kind IN (N'hnsw', N'flat')),
        CONSTRAINT CK_VectorIndexSegments_Dimension CHECK (Dimension BETWEEN 1 AND {{ policy.MAX_DIMENSION }}),
        CONSTRAINT CK_VectorIndexSegments_Graph CHECK ((Kind = N'hnsw' AND EfSearch IS NOT NULL) OR (Kind = N'flat' AND EfSearch IS NULL)),
        CONSTRAINT CK_VectorIndexSegments_Parameters CHECK (ISJSON(Parameters) = 1)
    );
    CREATE INDEX IX_VectorIndexSegments_Active ON dbo.VectorIndexSegments (TenantId, EmbeddingType) WHERE IsActive = 1;
END;
