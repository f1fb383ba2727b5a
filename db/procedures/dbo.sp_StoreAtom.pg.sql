-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomPayloadStore, dbo.AtomEmbeddings, dbo.Models, dbo.SpatialLandmarks, dbo.fn_ClassifyContent, dbo.fn_Flag, dbo.fn_GenerateEmbedding, dbo.fn_ProjectEmbeddings, dbo.fn_BuildVectorSegment, dbo.TenantSecurityPolicy, dbo.sp_ChargeUsage, dbo.fn_CheckModelAccess, dbo.sp_GraphRecordAtoms
-- Store content as an atom of TenantId, which the caller has resolved (dbo.fn_ResolveTenant): what
-- dbo.sp_IngestAtom does, for it and for sp_GenerateText. Its SHA-256 is its identity within the
-- tenant: the same content again returns the same AtomId and raises ReferenceCount, also when many
-- sessions store it at once (INSERT ... ON CONFLICT). The modality follows the content type. With
-- GenerateEmbedding (1/0 or true/false), a text atom gets its embedding (computed before the row
-- lock is taken) by the packaged all-MiniLM-L6-v2, or with ModelId by that stored model of the
-- tenant (EmbeddingType is then the model's name), projected to its 3-D point and vector bucket when
-- landmarks are fitted; other atoms are stored without one, with a notice. A new embedding is
-- searchable at once (the vector index's raw delta, merged into a segment every {{ policy.DELTA_MERGE_ROWS }} embeddings).
-- Metered (sp_IngestAtom's calls): the bytes of new content ('ingested_byte'; content already stored
-- costs nothing) and the embedding computed ('embedding'), refused before the work past a quota
-- (dbo.sp_ChargeUsage). sp_GenerateText stores its text unmetered: its tokens are what it charges.
-- A new atom, or one embedded now, gets its node in the provenance graph and its SimilarTo edges
-- (dbo.sp_GraphRecordAtoms) in the same transaction. No tenant role may call it.
CREATE OR REPLACE PROCEDURE dbo.sp_StoreAtom(
    Content bytea,
    ContentType text,
    Metadata jsonb DEFAULT NULL,
    TenantId integer DEFAULT NULL,
    GenerateEmbedding anycompatible DEFAULT false,
    ModelId integer DEFAULT NULL,
    Metered boolean DEFAULT true,
    INOUT AtomId bigint DEFAULT NULL
)
LANGUAGE plpgsql
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    max_bytes constant bigint := {{ policy.MAX_CONTENT_BYTES }};  -- hartonomous_ext.policy
    tenant_max_bytes bigint;  -- dbo.TenantSecurityPolicy.MaxIngestBytes (NULL: the package's limit)
    content_type text;
    modality text;
    content_text text;
    embedding bytea;
    embedding_type text;
    inserted boolean;
    point record;
BEGIN
    IF sp_StoreAtom.TenantId IS NULL THEN
        RAISE EXCEPTION 'sp_StoreAtom: TenantId is required (the caller resolves it)' USING ERRCODE = '22023';
    END IF;
    IF sp_StoreAtom.Content IS NULL OR octet_length(sp_StoreAtom.Content) = 0 THEN
        RAISE EXCEPTION 'sp_IngestAtom: Content is empty' USING ERRCODE = '22023';
    END IF;
    IF octet_length(sp_StoreAtom.Content) > max_bytes THEN
        RAISE EXCEPTION 'sp_IngestAtom: Content has % bytes, more than the % allowed',
            octet_length(sp_StoreAtom.Content), max_bytes USING ERRCODE = '54000';
    END IF;
    SELECT p.MaxIngestBytes INTO tenant_max_bytes FROM dbo.TenantSecurityPolicy p WHERE p.TenantId = sp_StoreAtom.TenantId;
    IF octet_length(sp_StoreAtom.Content) > tenant_max_bytes THEN
        RAISE EXCEPTION 'sp_IngestAtom: Content has % bytes, more than tenant %''s % (dbo.TenantSecurityPolicy)',
            octet_length(sp_StoreAtom.Content), sp_StoreAtom.TenantId, tenant_max_bytes USING ERRCODE = '54000';
    END IF;
    IF Metered THEN
        CALL dbo.sp_ChargeUsage(sp_StoreAtom.TenantId, 'ingested_byte', octet_length(sp_StoreAtom.Content), 'sp_IngestAtom', true);
    END IF;
    BEGIN
        SELECT c.ContentType, c.Modality INTO content_type, modality FROM dbo.fn_ClassifyContent(sp_StoreAtom.ContentType) c;
    EXCEPTION WHEN invalid_parameter_value THEN  -- (PL/Python prefixes its errors with their class)
        RAISE EXCEPTION 'sp_IngestAtom: %', regexp_replace(SQLERRM, '^plpy\.Error: ', '') USING ERRCODE = '22023';
    END;
    IF modality = 'text' THEN
        BEGIN
            content_text := convert_from(sp_StoreAtom.Content, 'UTF8');
        EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character THEN
            RAISE EXCEPTION 'sp_IngestAtom: Content is not valid UTF-8 text (ContentType %)', content_type
                USING ERRCODE = '22021';
        END;
    END IF;
    IF coalesce(dbo.fn_Flag(sp_StoreAtom.GenerateEmbedding, 'GenerateEmbedding'), false) AND modality <> 'text'
       AND sp_StoreAtom.ModelId IS NULL THEN
        -- the seeds ingest an image with GenerateEmbedding = 1: store it, and say why it has no embedding
        RAISE NOTICE 'sp_IngestAtom: % atoms get no embedding (the embedding models embed text); stored without one', modality;
    ELSIF coalesce(dbo.fn_Flag(sp_StoreAtom.GenerateEmbedding, 'GenerateEmbedding'), false) THEN
        IF modality <> 'text' THEN
            RAISE EXCEPTION 'sp_IngestAtom: model % embeds text; this atom is %', sp_StoreAtom.ModelId, modality
                USING ERRCODE = '22023';
        END IF;
        IF sp_StoreAtom.ModelId IS NOT NULL THEN
            SELECT left(m.ModelName, 64) INTO embedding_type FROM dbo.Models m
            WHERE m.ModelId = sp_StoreAtom.ModelId AND m.TenantId = sp_StoreAtom.TenantId;
            IF embedding_type IS NULL THEN
                RAISE EXCEPTION 'sp_IngestAtom: model % does not exist for tenant %', sp_StoreAtom.ModelId,
                    sp_StoreAtom.TenantId USING ERRCODE = '22023';
            END IF;
            PERFORM dbo.fn_CheckModelAccess(sp_StoreAtom.TenantId, jsonb_build_array(sp_StoreAtom.ModelId), 'sp_IngestAtom');
        END IF;
        IF Metered THEN
            CALL dbo.sp_ChargeUsage(sp_StoreAtom.TenantId, 'embedding', 1, 'sp_IngestAtom', true);
        END IF;
        -- Python work before the atom's row is locked, so concurrent ingests do not wait on it
        embedding := dbo.fn_GenerateEmbedding(content_text, sp_StoreAtom.ModelId, sp_StoreAtom.TenantId);
        IF octet_length(embedding) > {{ policy.MAX_DIMENSION }} * 4 THEN
            RAISE EXCEPTION 'sp_IngestAtom: model % gives embeddings of % dimensions; the store keeps at most {{ policy.MAX_DIMENSION }}',
                sp_StoreAtom.ModelId, octet_length(embedding) / 4 USING ERRCODE = '22023';
        END IF;
        SELECT p.* INTO point
        FROM dbo.SpatialLandmarks l
        CROSS JOIN LATERAL dbo.fn_ProjectEmbeddings(ARRAY[embedding], l.MeanVector, l.Axes, l.BucketWidth, l.Centroids) p
        WHERE l.IsActive AND l.Dimension = 384;
    END IF;

    INSERT INTO dbo.Atoms AS a (TenantId, ContentHash, ContentType, Modality, ContentSize, Metadata)
    VALUES (sp_StoreAtom.TenantId, sha256(sp_StoreAtom.Content), content_type, modality,
            octet_length(sp_StoreAtom.Content), sp_StoreAtom.Metadata)
    ON CONFLICT (TenantId, ContentHash) DO UPDATE
        SET ReferenceCount = a.ReferenceCount + 1,
            UpdatedAt = now(),
            -- metadata given again joins two objects (keys given now win); otherwise it replaces
            Metadata = CASE WHEN jsonb_typeof(a.Metadata) = 'object' AND jsonb_typeof(EXCLUDED.Metadata) = 'object'
                            THEN a.Metadata || EXCLUDED.Metadata ELSE coalesce(EXCLUDED.Metadata, a.Metadata) END
    RETURNING a.AtomId, (a.xmax = 0) INTO sp_StoreAtom.AtomId, inserted;

    IF inserted THEN
        INSERT INTO dbo.AtomPayloadStore (AtomId, Payload) VALUES (sp_StoreAtom.AtomId, sp_StoreAtom.Content);
    END IF;
    IF embedding IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM dbo.AtomEmbeddings e
        WHERE e.AtomId = sp_StoreAtom.AtomId AND e.EmbeddingType = coalesce(embedding_type, 'all-MiniLM-L6-v2')) THEN
        INSERT INTO dbo.AtomEmbeddings (AtomId, ModelId, EmbeddingType, Dimension, EmbeddingVector,
                                        SpatialX, SpatialY, SpatialZ, SpatialBucketX, SpatialBucketY, SpatialBucketZ,
                                        SpatialGeometry, VectorBucket)
        VALUES (sp_StoreAtom.AtomId, sp_StoreAtom.ModelId, coalesce(embedding_type, 'all-MiniLM-L6-v2'),
                octet_length(embedding) / 4, embedding,
                point.X, point.Y, point.Z, point.BucketX, point.BucketY, point.BucketZ,
                CASE WHEN point.X IS NOT NULL THEN ST_MakePoint(point.X, point.Y, point.Z) END, point.VectorBucket);
        -- every search scans the raw delta: at {{ policy.DELTA_MERGE_ROWS }} embeddings it becomes a flat segment
        -- of the vector index here (skipped while another session merges the same type: it will)
        IF (SELECT count(*) FROM (SELECT 1 FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId
                                  WHERE NOT e.Indexed AND e.EmbeddingType = coalesce(embedding_type, 'all-MiniLM-L6-v2')
                                    AND a.TenantId = sp_StoreAtom.TenantId
                                  LIMIT {{ policy.DELTA_MERGE_ROWS }}) d) >= {{ policy.DELTA_MERGE_ROWS }} THEN
            PERFORM dbo.fn_BuildVectorSegment(sp_StoreAtom.TenantId, coalesce(embedding_type, 'all-MiniLM-L6-v2'),
                                              'merge', false);
        END IF;
    END IF;
    IF inserted THEN
        IF Metered THEN
            CALL dbo.sp_ChargeUsage(sp_StoreAtom.TenantId, 'ingested_byte', octet_length(sp_StoreAtom.Content), 'sp_IngestAtom');
        END IF;
    END IF;
    IF embedding IS NOT NULL THEN
        IF Metered THEN
            CALL dbo.sp_ChargeUsage(sp_StoreAtom.TenantId, 'embedding', 1, 'sp_IngestAtom');
        END IF;
    END IF;
    IF inserted OR embedding IS NOT NULL THEN
        CALL dbo.sp_GraphRecordAtoms(jsonb_build_array(sp_StoreAtom.AtomId)::text, sp_StoreAtom.TenantId);
    END IF;
END
$$;
