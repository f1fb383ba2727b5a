-- kind: table
-- requires: dbo
-- Tensor bytes, content-addressed: a chunk (at most 1 MiB of a tensor) is stored once under its
-- SHA-256, however many tensors, models or weight versions use it. Chunks are never changed in
-- place; a weight change maps the tensor to new chunks (dbo.ModelTensorChunks).
CREATE TABLE IF NOT EXISTS dbo.TensorChunks (
    ChunkHash bytea   NOT NULL,
    ByteSize  integer NOT NULL,
    Data      bytea   NOT NULL,
    CONSTRAINT PK_TensorChunks PRIMARY KEY (ChunkHash),
    CONSTRAINT CK_TensorChunks_Hash CHECK (octet_length(ChunkHash) = 32),
    CONSTRAINT CK_TensorChunks_Size CHECK (ByteSize = octet_length(Data) AND ByteSize BETWEEN 1 AND 1048576)
);
-- weights hardly compress: store them out of line without trying
ALTER TABLE dbo.TensorChunks ALTER COLUMN Data SET STORAGE EXTERNAL;
