-- kind: table
-- requires: dbo.Models
-- The layers of a model in execution order, with their operator type and parameter count.
IF OBJECT_ID(N'dbo.ModelLayers', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.ModelLayers (
        LayerId        BIGINT IDENTITY(1, 1) NOT NULL,
        ModelId        INT            NOT NULL,
        LayerIndex     INT            NOT NULL,
        LayerName      NVARCHAR(512)  NOT NULL,
        LayerType      NVARCHAR(128)  NULL,
        ParameterCount BIGINT         NOT NULL CONSTRAINT DF_ModelLayers_ParameterCount DEFAULT (0),
        CONSTRAINT PK_ModelLayers PRIMARY KEY CLUSTERED (LayerId),
        CONSTRAINT FK_ModelLayers_Models FOREIGN KEY (ModelId) REFERENCES dbo.Models (ModelId) ON DELETE CASCADE,
        CONSTRAINT UQ_ModelLayers_Model_Index UNIQUE (ModelId, LayerIndex),
        CONSTRAINT CK_ModelLayers_LayerIndex CHECK (LayerIndex >= 0),
        CONSTRAINT CK_ModelLayers_ParameterCount CHECK (ParameterCount >= 0)
    );
END;
