-- kind: function
-- requires: dbo.TenantSecurityPolicy
-- Refuse (42501) a call that would run a stored model the tenant may not use: a model id of ModelIds
-- (a JSON array) missing from dbo.TenantSecurityPolicy.AllowedModelIds, when that is set. NULL
-- AllowedModelIds, or no policy row: any of the tenant's own models. The packaged all-MiniLM-L6-v2
-- (no model id) is always allowed. SQL Server's dbo.fn_CheckModelAccess returns the same words for
-- the procedure to THROW (50043).
--     PERFORM dbo.fn_CheckModelAccess(TenantId, jsonb_build_array(ModelId), 'sp_X');
CREATE OR REPLACE FUNCTION dbo.fn_CheckModelAccess(TenantId integer, ModelIds jsonb, Caller text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    refused text;
BEGIN
    SELECT m.value INTO refused
    FROM dbo.TenantSecurityPolicy p
    CROSS JOIN LATERAL jsonb_array_elements_text(ModelIds) WITH ORDINALITY AS m(value, position)
    WHERE p.TenantId = fn_CheckModelAccess.TenantId AND p.AllowedModelIds IS NOT NULL
      AND NOT p.AllowedModelIds @> jsonb_build_array(m.value::bigint)
    ORDER BY m.position  -- the first refused model of the list, as on SQL Server
    LIMIT 1;
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION '%: tenant % may not use model % (dbo.TenantSecurityPolicy)', Caller, TenantId, refused
            USING ERRCODE = '42501';
    END IF;
END
$$;
