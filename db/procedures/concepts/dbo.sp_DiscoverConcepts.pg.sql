-- kind: procedure
-- requires: dbo.fn_RunConceptDiscovery, dbo.fn_CheckConceptDiscovery, dbo.fn_ResolveTenant, dbo.IngestionJobs, dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: a PostgreSQL function cannot commit, so the run that shows its progress is this procedure; SQL Server's dbo.fn_DiscoverConcepts, called outside a transaction, already commits its job row first and its writes at the end, and records its stage in the row
-- A concept discovery run (dbo.fn_DiscoverConcepts' arguments and work, the same Python body) for
-- the DBA's long runs: it commits as it goes, so another session follows it in dbo.IngestionJobs:
-- the job row is committed Running first, then its AtomsProcessed after each batch of embeddings
-- read and Parameters->>'stage' ('reading', 'clustering', 'writing', 'done'). The writes commit
-- together at the end (concepts, memberships, evolution, the row Completed); a failure rolls them
-- back and commits the row Failed with the error. Holds the type's lock for the whole run, as the
-- function does (one run at a time; binding at ingest waits for it). IngestionJobId returns the
-- run's row. CALL it outside an explicit transaction (it commits); administrators only. No SET
-- search_path clause (a procedure that has one cannot commit): every name it uses is qualified.
--   CALL dbo.sp_DiscoverConcepts(MinClusterSize => NULL, CoherenceThreshold => 0.4, MaxConcepts => 100, TenantId => 1);
CREATE OR REPLACE PROCEDURE dbo.sp_DiscoverConcepts(
    MinClusterSize integer DEFAULT NULL,
    CoherenceThreshold double precision DEFAULT {{ policy.CONCEPT_COHERENCE_THRESHOLD }},
    MaxConcepts integer DEFAULT {{ policy.CONCEPT_MAX_CONCEPTS }},
    TenantId integer DEFAULT NULL,
    EmbeddingType text DEFAULT 'all-MiniLM-L6-v2',
    INOUT IngestionJobId bigint DEFAULT NULL
)
LANGUAGE plpython3u
AS $$
{% include "bindings/_plpython_preamble.py" %}
{% include "procedures/concepts/_concept_discovery.py" %}

caller = "sp_DiscoverConcepts"
tenant = plpy.execute(plpy.prepare("SELECT dbo.fn_ResolveTenant($1, $2) AS t", ["integer", "text"]),
                      [tenantid, caller])[0]["t"]
kind = embeddingtype
plpy.execute(plpy.prepare("SELECT dbo.fn_CheckConceptDiscovery($1, $2, $3, $4, $5)",
                          ["text", "integer", "double precision", "integer", "text"]),
             [caller, minclustersize, coherencethreshold, maxconcepts, kind])
# the session holds the type's lock across the commits (a transaction lock would end at the first)
lock = plpy.prepare(f"SELECT pg_advisory_lock({LOCK_KEY})", ["integer", "text"])
unlock = plpy.prepare(f"SELECT pg_advisory_unlock({LOCK_KEY})", ["integer", "text"])
plpy.execute(lock, [tenant, kind])
try:
    total = count_embeddings(tenant, kind)
    if not total:
        plpy.error(f"{caller}: tenant {tenant} has no embeddings of type {kind}", sqlstate="22023")
    job = start_job(tenant, kind, {"embedding_type": kind, "min_cluster_size": minclustersize,
                                   "coherence_threshold": coherencethreshold, "max_concepts": maxconcepts}, total)
    plpy.commit()
    progress = plpy.prepare("UPDATE dbo.IngestionJobs SET AtomsProcessed = $2, "
                            "Parameters = Parameters || jsonb_build_object('stage', $3::text) WHERE IngestionJobId = $1",
                            ["bigint", "bigint", "text"])

    def checkpoint(stage, processed):
        plpy.execute(progress, [job, processed, stage])
        plpy.commit()

    try:
        run_discovery(caller, tenant, kind, minclustersize, coherencethreshold, maxconcepts, job, checkpoint)
        plpy.commit()
    except Exception as error:
        plpy.rollback()
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        plpy.execute(plpy.prepare("UPDATE dbo.IngestionJobs SET Status = 'Failed', EndTime = clock_timestamp(), "
                                  "ErrorMessage = $2, Parameters = Parameters || '{\"stage\": \"failed\"}' "
                                  "WHERE IngestionJobId = $1", ["bigint", "text"]), [job, message[:4000]])
        plpy.commit()
        if isinstance(error, ValueError):  # bad data the policy refused, as the function reports it
            plpy.error(f"{caller}: {error}", sqlstate="22023")
        raise
finally:
    plpy.execute(unlock, [tenant, kind])
return (job,)  # the INOUT parameters, as a row
$$;
