-- kind: table
-- requires: dbo.Models, dbo.ModelLayers
-- The tensors of a model: name, dtype (safetensors' names, or ggml's for quantized GGUF blocks),
-- shape (a JSON array, as the file has it), size and SHA-256 of the bytes. The bytes are the
-- tensor's chunks, in order (dbo.ModelTensorChunks -> dbo.TensorChunks).
IF OBJECT_ID(N'dbo.ModelTensors', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.ModelTensors (
        TensorId     BIGINT IDENTITY(1, 1) NOT NULL,
        ModelId      INT           NOT NULL,
        LayerId      BIGINT        NULL,
        TensorIndex  INT           NOT NULL,
        TensorName   NVARCHAR(512) NOT NULL,
        DType        NVARCHAR(16)  NOT NULL,
        Shape        NVARCHAR(400) NOT NULL,
        ElementCount BIGINT        NOT NULL,
        ByteSize     BIGINT        NOT NULL,
        Sha256       BINARY(32)    NOT NULL,
        CONSTRAINT PK_ModelTensors PRIMARY KEY CLUSTERED (TensorId),
        CONSTRAINT FK_ModelTensors_Models FOREIGN KEY (ModelId) REFERENCES dbo.Models (ModelId) ON DELETE CASCADE,
        CONSTRAINT FK_ModelTensors_ModelLayers FOREIGN KEY (LayerId) REFERENCES dbo.ModelLayers (LayerId),
        CONSTRAINT UQ_ModelTensors_Model_Name UNIQUE (ModelId, TensorName),
        CONSTRAINT CK_ModelTensors_Sizes CHECK (ElementCount >= 0 AND ByteSize >= 0 AND TensorIndex >= 0),
        CONSTRAINT CK_ModelTensors_Shape CHECK (ISJSON(Shape) = 1)
    );
    CREATE INDEX IX_ModelTensors_Layer ON dbo.ModelTensors (LayerId);
END;
