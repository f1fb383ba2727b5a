-- kind: function
-- requires: dbo.Atoms, dbo.AtomPayloadStore, dbo.AtomEmbeddings, dbo.Models, dbo.sp_BindAtomConcepts, provenance.Concepts, dbo.SpatialLandmarks, dbo.fn_Flag, dbo.fn_PrepareAtoms, dbo.fn_ProjectEmbeddings, dbo.fn_BuildVectorSegment, dbo.fn_ResolveTenant, dbo.TenantSecurityPolicy, dbo.sp_ChargeUsage, dbo.fn_CheckModelAccess, dbo.sp_GraphRecordAtoms
-- Ingest a batch of contents as atoms in one call and one transaction: what sp_IngestAtom does for
-- one content, for up to {{ policy.MAX_BATCH_ATOMS }} (and {{ policy.MAX_BATCH_BYTES }} bytes together).
-- Atoms is JSON text: an array of objects {"content": <the bytes in base64>, "contentType": <a media type>,
-- "metadata": <any JSON, optional>}. The same content twice, in the batch or already stored, is
-- one atom whose ReferenceCount rises each time, with metadata joined as sp_IngestAtom joins it.
-- With GenerateEmbedding, the text atoms that have no embedding of the type yet get one, all in
-- one pass through the model (batched, sorted by length); as in sp_IngestAtom the packaged
-- all-MiniLM-L6-v2, or with ModelId that stored model of the tenant. One bad element refuses the
-- whole batch, naming it ("item 3: ..."), and nothing is written. The atoms it embeds join their
-- tenant's concepts of the type (dbo.sp_BindAtomConcepts, one pass for the batch; stored content
-- ingested again is not bound again); a bind that fails leaves them stored and unbound, with a notice.
-- Metered as sp_IngestAtom is (dbo.sp_ChargeUsage): the bytes of the atoms this call created and
-- the embeddings computed; past a quota it refuses before the work.
-- Returns one row per element, in order: the AtomId, whether this call created the atom, and the
-- atom's embedding of the type (AtomEmbeddingId; NULL when it has none).
--   SELECT * FROM dbo.sp_IngestAtoms('[{"content": "aGVsbG8=", "contentType": "text/plain"}]', 0, true);
CREATE OR REPLACE FUNCTION dbo.sp_IngestAtoms(
    Atoms text,
    TenantId integer DEFAULT NULL,
    GenerateEmbedding anycompatible DEFAULT false,
    ModelId integer DEFAULT NULL
)
RETURNS TABLE (Ordinal integer, AtomId bigint, Inserted boolean, AtomEmbeddingId bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    graph_atoms text;  -- the atoms the provenance graph records (dbo.sp_GraphRecordAtoms)
    max_atoms constant integer := {{ policy.MAX_BATCH_ATOMS }};          -- hartonomous_ext.policy
    max_bytes constant bigint := {{ policy.MAX_CONTENT_BYTES }};
    max_batch_bytes constant bigint := {{ policy.MAX_BATCH_BYTES }};
    shape constant text := 'a JSON array of objects {"content": <base64>, "contentType": <media type>, "metadata": <JSON>}';
    batch json;  -- json, not jsonb: a key given twice stays visible, to be refused as SQL Server refuses it
    wants_embedding boolean;
    embedding_type text := 'all-MiniLM-L6-v2';
    n integer;
    bad record;
    item record;
    contents bytea[];
    content_types text[];
    given_metadata jsonb[];
    hashes bytea[];
    wanted boolean[];
    stored_types text[];
    modalities text[];
    embeddings bytea[];
    problems text[];
    atom_ids bigint[];
    created boolean[];
    rounds integer[];  -- per element: which copy of its content it is (1 for the first)
    occurrence integer;
    total_bytes bigint;
    tenant_max_bytes bigint;  -- dbo.TenantSecurityPolicy.MaxIngestBytes, for one call (NULL: the package's limits)
    unembedded integer;
    units bigint;  -- what dbo.sp_ChargeUsage meters (CALL takes no subquery)
BEGIN
    sp_IngestAtoms.TenantId := dbo.fn_ResolveTenant(sp_IngestAtoms.TenantId, 'sp_IngestAtoms');
    BEGIN
        batch := sp_IngestAtoms.Atoms::json;
    EXCEPTION WHEN invalid_text_representation THEN
        batch := NULL;
    END;
    IF batch IS NULL OR json_typeof(batch) <> 'array' THEN
        RAISE EXCEPTION 'sp_IngestAtoms: Atoms must be %', shape USING ERRCODE = '22023';
    END IF;
    n := json_array_length(batch);
    IF n > max_atoms THEN
        RAISE EXCEPTION 'sp_IngestAtoms: % atoms in one batch, more than the % allowed', n, max_atoms
            USING ERRCODE = '54000';
    END IF;
    IF n = 0 THEN
        RETURN;
    END IF;
    wants_embedding := coalesce(dbo.fn_Flag(sp_IngestAtoms.GenerateEmbedding, 'GenerateEmbedding'), false);
    IF wants_embedding AND sp_IngestAtoms.ModelId IS NOT NULL THEN
        SELECT left(m.ModelName, 64) INTO embedding_type FROM dbo.Models m
        WHERE m.ModelId = sp_IngestAtoms.ModelId AND m.TenantId = sp_IngestAtoms.TenantId;
        IF embedding_type IS NULL THEN
            RAISE EXCEPTION 'sp_IngestAtoms: model % does not exist for tenant %', sp_IngestAtoms.ModelId,
                sp_IngestAtoms.TenantId USING ERRCODE = '22023';
        END IF;
        PERFORM dbo.fn_CheckModelAccess(sp_IngestAtoms.TenantId, jsonb_build_array(sp_IngestAtoms.ModelId), 'sp_IngestAtoms');
    END IF;

    -- the shape of each element, before anything is decoded: the first bad one is named
    SELECT e.ord, e.problem INTO bad
    FROM (SELECT x.ord, CASE
                 WHEN json_typeof(x.v) <> 'object' THEN 'is not a JSON object'
                 WHEN (SELECT count(*) - count(DISTINCT k) FROM json_object_keys(x.v) k) > 0 THEN 'names a key more than once'
                 WHEN json_typeof(x.v -> 'content') IS DISTINCT FROM 'string' THEN 'has no "content" string (its bytes in base64)'
                 WHEN x.v ->> 'content' !~ '^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$' THEN '"content" is not base64'
                 WHEN json_typeof(x.v -> 'contentType') IS DISTINCT FROM 'string' THEN 'has no "contentType" string (a media type such as text/plain)'
                 WHEN json_typeof(x.v -> 'metadata') IN ('string', 'number', 'boolean') THEN '"metadata" must be a JSON object or array'
                 END AS problem
          FROM json_array_elements(batch) WITH ORDINALITY AS x(v, ord)) e
    WHERE e.problem IS NOT NULL ORDER BY e.ord LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'sp_IngestAtoms: item %: %; Atoms must be %', bad.ord, bad.problem, shape USING ERRCODE = '22023';
    END IF;
    -- (strict base64, checked above: decode cannot fail)
    SELECT array_agg(decode(x.v ->> 'content', 'base64') ORDER BY x.ord),
           array_agg(x.v ->> 'contentType' ORDER BY x.ord),
           array_agg(nullif((x.v -> 'metadata')::jsonb, 'null'::jsonb) ORDER BY x.ord)
    INTO contents, content_types, given_metadata
    FROM json_array_elements(batch) WITH ORDINALITY AS x(v, ord);
    SELECT c.ord, CASE WHEN octet_length(c.content) = 0 THEN 'Content is empty'
                       ELSE format('Content has %s bytes, more than the %s allowed', octet_length(c.content), max_bytes) END AS problem
    INTO bad
    FROM unnest(contents) WITH ORDINALITY AS c(content, ord)
    WHERE octet_length(c.content) = 0 OR octet_length(c.content) > max_bytes ORDER BY c.ord LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'sp_IngestAtoms: item %: %', bad.ord, bad.problem
            USING ERRCODE = CASE WHEN bad.problem = 'Content is empty' THEN '22023' ELSE '54000' END;
    END IF;
    SELECT sum(octet_length(c)) INTO total_bytes FROM unnest(contents) c;
    IF total_bytes > max_batch_bytes THEN
        RAISE EXCEPTION 'sp_IngestAtoms: the batch holds % bytes, more than the % allowed together',
            total_bytes, max_batch_bytes USING ERRCODE = '54000';
    END IF;
    SELECT p.MaxIngestBytes INTO tenant_max_bytes FROM dbo.TenantSecurityPolicy p WHERE p.TenantId = sp_IngestAtoms.TenantId;
    IF total_bytes > tenant_max_bytes THEN
        RAISE EXCEPTION 'sp_IngestAtoms: the batch holds % bytes, more than tenant %''s % (dbo.TenantSecurityPolicy)',
            total_bytes, sp_IngestAtoms.TenantId, tenant_max_bytes USING ERRCODE = '54000';
    END IF;
    CALL dbo.sp_ChargeUsage(sp_IngestAtoms.TenantId, 'ingested_byte', total_bytes, 'sp_IngestAtoms', true);

    -- an embedding is wanted for the contents whose atom has none of the type yet
    SELECT array_agg(sha256(c.content) ORDER BY c.ord) INTO hashes FROM unnest(contents) WITH ORDINALITY AS c(content, ord);
    SELECT array_agg(wants_embedding AND NOT EXISTS (
               SELECT 1 FROM dbo.Atoms a JOIN dbo.AtomEmbeddings e ON e.AtomId = a.AtomId AND e.EmbeddingType = embedding_type
               WHERE a.TenantId = sp_IngestAtoms.TenantId AND a.ContentHash = h.hash) ORDER BY h.ord)
    INTO wanted FROM unnest(hashes) WITH ORDINALITY AS h(hash, ord);
    units := (SELECT count(*) FROM unnest(wanted) w WHERE w);
    CALL dbo.sp_ChargeUsage(sp_IngestAtoms.TenantId, 'embedding', units, 'sp_IngestAtoms', true);

    -- Python once for the batch (content types, UTF-8, embeddings), before any row is locked
    BEGIN
        SELECT array_agg(p.ContentType ORDER BY p.Ordinal), array_agg(p.Modality ORDER BY p.Ordinal),
               array_agg(p.Embedding ORDER BY p.Ordinal), array_agg(p.Problem ORDER BY p.Ordinal)
        INTO stored_types, modalities, embeddings, problems
        FROM dbo.fn_PrepareAtoms(contents, content_types, wanted, sp_IngestAtoms.ModelId, sp_IngestAtoms.TenantId) p;
    EXCEPTION WHEN invalid_parameter_value THEN  -- the model's problem, without PL/Python's prefix and traceback
        RAISE EXCEPTION '%', regexp_replace(SQLERRM, '^plpy\.Error: ', '') USING ERRCODE = '22023';
    END;
    SELECT i AS ord, problems[i] AS problem INTO bad
    FROM generate_subscripts(problems, 1) i WHERE problems[i] IS NOT NULL ORDER BY i LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'sp_IngestAtoms: item %: %', bad.ord, bad.problem USING ERRCODE = '22023';
    END IF;
    SELECT count(*) INTO unembedded FROM generate_subscripts(wanted, 1) i WHERE wanted[i] AND modalities[i] <> 'text';
    IF unembedded > 0 THEN
        RAISE NOTICE 'sp_IngestAtoms: % atoms are not text and get no embedding (the embedding models embed text); stored without one', unembedded;
    END IF;

    -- the atoms: the k-th occurrence of each content goes in round k, so that one INSERT never meets
    -- the same key twice and the batch counts and joins exactly as that many sp_IngestAtom calls
    atom_ids := array_fill(NULL::bigint, ARRAY[n]);
    created := array_fill(false, ARRAY[n]);
    SELECT array_agg(r.round ORDER BY r.ord) INTO rounds
    FROM (SELECT h.ord, row_number() OVER (PARTITION BY h.hash ORDER BY h.ord) AS round
          FROM unnest(hashes) WITH ORDINALITY AS h(hash, ord)) r;
    FOR occurrence IN 1..(SELECT max(r) FROM unnest(rounds) r) LOOP
        FOR item IN
            WITH batch AS (
                SELECT i AS ord, hashes[i] AS hash, rounds[i] AS round FROM generate_subscripts(hashes, 1) i),
            upserted AS (
                INSERT INTO dbo.Atoms AS a (TenantId, ContentHash, ContentType, Modality, ContentSize, Metadata)
                SELECT sp_IngestAtoms.TenantId, b.hash, stored_types[b.ord], modalities[b.ord],
                       octet_length(contents[b.ord]), given_metadata[b.ord]
                FROM batch b WHERE b.round = occurrence ORDER BY b.hash  -- one lock order for concurrent batches
                ON CONFLICT (TenantId, ContentHash) DO UPDATE
                    SET ReferenceCount = a.ReferenceCount + 1,
                        UpdatedAt = now(),
                        Metadata = CASE WHEN jsonb_typeof(a.Metadata) = 'object' AND jsonb_typeof(EXCLUDED.Metadata) = 'object'
                                        THEN a.Metadata || EXCLUDED.Metadata ELSE coalesce(EXCLUDED.Metadata, a.Metadata) END
                RETURNING a.AtomId, a.ContentHash, (a.xmax = 0) AS inserted)
            SELECT b.ord, u.AtomId, u.inserted FROM upserted u JOIN batch b ON b.hash = u.ContentHash AND b.round = occurrence
        LOOP
            atom_ids[item.ord] := item.AtomId;
            created[item.ord] := item.inserted;
        END LOOP;
    END LOOP;
    INSERT INTO dbo.AtomPayloadStore (AtomId, Payload)
    SELECT atom_ids[i], contents[i] FROM generate_subscripts(created, 1) i WHERE created[i];

    -- the embeddings, projected to their 3-D point and vector bucket when landmarks are fitted
    IF EXISTS (SELECT 1 FROM unnest(embeddings) e WHERE e IS NOT NULL) THEN
        WITH fresh AS (
            SELECT DISTINCT ON (atom_ids[i]) i AS ord, atom_ids[i] AS atom, embeddings[i] AS vector
            FROM generate_subscripts(embeddings, 1) i
            WHERE embeddings[i] IS NOT NULL ORDER BY atom_ids[i], i),
        numbered AS (SELECT f.*, row_number() OVER (ORDER BY f.ord) AS position FROM fresh f),
        points AS (
            SELECT p.* FROM dbo.SpatialLandmarks l
            CROSS JOIN LATERAL dbo.fn_ProjectEmbeddings((SELECT array_agg(f.vector ORDER BY f.position) FROM numbered f),
                                                        l.MeanVector, l.Axes, l.BucketWidth, l.Centroids) p
            -- landmarks (fitted on 384 dimensions) project embeddings of their dimension, as in sp_IngestAtom
            WHERE l.IsActive AND l.Dimension = 384 AND l.Dimension = (SELECT octet_length(f.vector) / 4 FROM numbered f LIMIT 1))
        INSERT INTO dbo.AtomEmbeddings (AtomId, ModelId, EmbeddingType, Dimension, EmbeddingVector,
                                        SpatialX, SpatialY, SpatialZ, SpatialBucketX, SpatialBucketY, SpatialBucketZ,
                                        SpatialGeometry, VectorBucket)
        SELECT f.atom, sp_IngestAtoms.ModelId, embedding_type, octet_length(f.vector) / 4, f.vector,
               p.X, p.Y, p.Z, p.BucketX, p.BucketY, p.BucketZ,
               CASE WHEN p.X IS NOT NULL THEN ST_MakePoint(p.X, p.Y, p.Z) END, p.VectorBucket
        FROM numbered f LEFT JOIN points p ON p.Ordinal = f.position
        WHERE NOT EXISTS (SELECT 1 FROM dbo.AtomEmbeddings e WHERE e.AtomId = f.atom AND e.EmbeddingType = embedding_type)
        ORDER BY f.position;
        -- every search scans the raw delta: at {{ policy.DELTA_MERGE_ROWS }} embeddings it becomes a flat
        -- segment of the vector index here (skipped while another session merges the same type: it will)
        IF (SELECT count(*) FROM (SELECT 1 FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId
                                  WHERE NOT e.Indexed AND e.EmbeddingType = embedding_type
                                    AND a.TenantId = sp_IngestAtoms.TenantId
                                  LIMIT {{ policy.DELTA_MERGE_ROWS }}) d) >= {{ policy.DELTA_MERGE_ROWS }} THEN
            PERFORM dbo.fn_BuildVectorSegment(sp_IngestAtoms.TenantId, embedding_type, 'merge', false);
        END IF;
    END IF;

    -- the provenance graph: the new atoms' and the embedded ones' nodes and SimilarTo edges
    graph_atoms := (SELECT jsonb_agg(DISTINCT atom_ids[i]) FROM generate_subscripts(atom_ids, 1) i
                    WHERE created[i] OR embeddings[i] IS NOT NULL)::text;
    CALL dbo.sp_GraphRecordAtoms(graph_atoms, sp_IngestAtoms.TenantId);
    units := (SELECT coalesce(sum(octet_length(contents[i])), 0) FROM generate_subscripts(created, 1) i WHERE created[i]);
    CALL dbo.sp_ChargeUsage(sp_IngestAtoms.TenantId, 'ingested_byte', units, 'sp_IngestAtoms');
    units := (SELECT count(*) FROM unnest(embeddings) e WHERE e IS NOT NULL);
    CALL dbo.sp_ChargeUsage(sp_IngestAtoms.TenantId, 'embedding', units, 'sp_IngestAtoms');

    -- the atoms this call embedded join their tenant's live concepts of the type (the rule of
    -- dbo.fn_BindConcepts, no re-clustering), all in one pass through Python: a bind that fails
    -- never fails the batch (as in sp_IngestAtom): the atoms stay stored, unbound, with a notice
    IF EXISTS (SELECT 1 FROM unnest(embeddings) e WHERE e IS NOT NULL)
       AND EXISTS (SELECT 1 FROM provenance.Concepts c WHERE c.TenantId = sp_IngestAtoms.TenantId
                   AND c.EmbeddingType = embedding_type AND c.RetiredAt IS NULL) THEN
        DECLARE
            embedded constant bigint[] := ARRAY(SELECT DISTINCT atom_ids[i] FROM generate_subscripts(embeddings, 1) i
                                                WHERE embeddings[i] IS NOT NULL);
        BEGIN
            PERFORM dbo.sp_BindAtomConcepts(embedded, embedding_type, {{ policy.CONCEPT_MEMBERSHIP_SIMILARITY }},
                                            {{ policy.CONCEPT_MAX_PER_ATOM }}, sp_IngestAtoms.TenantId);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'sp_IngestAtoms: % atoms are stored but not bound to their concepts: %; the next concept discovery run binds them',
                cardinality(embedded), SQLERRM;
        END;
    END IF;

    RETURN QUERY
    SELECT i::integer, atom_ids[i], created[i],
           (SELECT min(e.AtomEmbeddingId) FROM dbo.AtomEmbeddings e
            WHERE e.AtomId = atom_ids[i] AND e.EmbeddingType = embedding_type)
    FROM generate_subscripts(atom_ids, 1) i ORDER BY i;
END
$$;
