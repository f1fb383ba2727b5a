-- kind: procedure
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Atoms, dbo.Models, dbo.sp_StoreAtom, dbo.sp_GraphRecordAtoms
-- The provenance graph's writer for a text generation (README "Provenance graph"), in the caller's
-- transaction (dbo.sp_GenerateText's), for TenantId (resolved by the caller): the generated atom
-- AtomId DerivedFrom its prompt and from the weight state of each model of ModelIds (a JSON array;
-- a model's latest version node, or its own node before any weight change). The prompt becomes a
-- node the way every content does: it is stored as a text atom of the tenant (content-addressed, so
-- the same prompt is one atom, unmetered like the generated text, within the tenant's MaxIngestBytes).
-- AtomId NULL (nothing was generated) records nothing. No tenant role may call it.
CREATE OR REPLACE PROCEDURE dbo.sp_GraphRecordGeneration(
    AtomId bigint,
    Prompt text,
    ModelIds text,
    TenantId integer
)
LANGUAGE plpgsql
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    tenant constant integer := sp_GraphRecordGeneration.TenantId;
    models integer[];
    missing integer;
    prompt_atom bigint;
    output_node bigint;
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'sp_GraphRecordGeneration: TenantId is required (the caller resolves it)' USING ERRCODE = '22023';
    END IF;
    IF sp_GraphRecordGeneration.AtomId IS NULL THEN
        RETURN;
    END IF;
    IF Prompt IS NULL OR Prompt = '' THEN
        RAISE EXCEPTION 'sp_GraphRecordGeneration: Prompt is empty' USING ERRCODE = '22023';
    END IF;
    BEGIN
        SELECT array_agg(DISTINCT v::integer) INTO models FROM jsonb_array_elements_text(ModelIds::jsonb) v;
    EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR invalid_parameter_value
                   OR data_exception THEN
        RAISE EXCEPTION 'sp_GraphRecordGeneration: ModelIds is not a JSON array of model ids' USING ERRCODE = '22023';
    END;
    SELECT i INTO missing FROM unnest(models) i
    WHERE NOT EXISTS (SELECT FROM dbo.Models m WHERE m.ModelId = i AND m.TenantId = tenant) LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'sp_GraphRecordGeneration: model % does not exist for tenant %', missing, tenant USING ERRCODE = '22023';
    END IF;
    CALL dbo.sp_GraphRecordAtoms(jsonb_build_array(sp_GraphRecordGeneration.AtomId)::text, tenant);
    CALL dbo.sp_StoreAtom(convert_to(Prompt, 'UTF8'), 'text/plain', NULL, tenant, false, NULL, false, prompt_atom);
    SELECT n.NodeId INTO output_node FROM graph.AtomGraphNodes n
    WHERE n.NodeKind = 'atom' AND n.AtomId = sp_GraphRecordGeneration.AtomId;
    INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, ModelId)
    SELECT tenant, 'model', m FROM unnest(models) m ORDER BY m
    ON CONFLICT (ModelId) WHERE NodeKind = 'model' DO NOTHING;
    INSERT INTO graph.AtomGraphEdges (TenantId, FromNodeId, ToNodeId, EdgeType, CreatedBy)
    SELECT tenant, output_node, s.NodeId, 'DerivedFrom', 'sp_GenerateText'
    FROM (SELECT n.NodeId FROM graph.AtomGraphNodes n WHERE n.NodeKind = 'atom' AND n.AtomId = prompt_atom
          UNION
          SELECT (SELECT n.NodeId FROM graph.AtomGraphNodes n
                  WHERE n.ModelId = m AND n.NodeKind IN ('model', 'model-version')
                  ORDER BY coalesce(n.VersionNumber, 0) DESC LIMIT 1)
          FROM unnest(models) m) s
    WHERE s.NodeId <> output_node  -- a generation that repeats its prompt derives from itself only in name
    ORDER BY s.NodeId
    ON CONFLICT (FromNodeId, ToNodeId, EdgeType) DO NOTHING;
END
$$;
