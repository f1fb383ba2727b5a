-- kind: table
-- requires: dbo
-- Tensor bytes, content-addressed: a chunk (at most 1 MiB of a tensor) is stored once under its
-- SHA-256, however many tensors, models or weight versions use it. Chunks are never changed in
-- place; a weight change maps the tensor to new chunks (dbo.ModelTensorChunks).
IF OBJECT_ID(N'dbo.TensorChunks', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.TensorChunks (
        ChunkHash BINARY(32)     NOT NULL,
        ByteSize  INT            NOT NULL,
        Data      VARBINARY(MAX) NOT NULL,
        CONSTRAINT PK_TensorChunks PRIMARY KEY CLUSTERED (ChunkHash),
        CONSTRAINT CK_TensorChunks_Size CHECK (ByteSize = DATALENGTH(Data) AND ByteSize BETWEEN 1 AND 1048576)
    );
END;
