-- kind: function
-- requires: dbo.Atoms, dbo.AtomEmbeddings, dbo.AtomPayloadStore, dbo.IngestionJobs, provenance.Concepts, provenance.AtomConcepts, provenance.ConceptEvolution, dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: the Python body of dbo.fn_DiscoverConcepts on PostgreSQL, behind its PL/pgSQL front (which checks the arguments and gives the Python's errors as a caller reads them); SQL Server's procedure runs the same Python through sp_execute_external_script
-- dbo.fn_DiscoverConcepts' work for a resolved tenant (see there): not granted to any tenant role.
-- Takes the type's lock for the transaction (one run at a time; fn_BindConcepts waits for it),
-- writes the run's dbo.IngestionJobs row and runs procedures/concepts/_concept_discovery.py (the
-- body dbo.sp_DiscoverConcepts runs too): reads the tenant's embeddings of the type (one per atom)
-- with the first CONCEPT_TEXT_BYTES of each text atom, in batches; the live concepts of the previous
-- run with the primary members it found; runs hartonomous_ext.concepts.discover; writes the concepts
-- (continued ones updated in place, new ones inserted, the rest retired), the memberships
-- (replaced), the evolution and the job row Completed, all in the caller's transaction.
CREATE OR REPLACE FUNCTION dbo.fn_RunConceptDiscovery(TenantId integer, EmbeddingType text, MinClusterSize integer,
                                                      CoherenceThreshold double precision, MaxConcepts integer)
RETURNS TABLE (ConceptId bigint, Label text, Size integer, Coherence double precision, EventType text)
LANGUAGE plpython3u
VOLATILE
SET search_path = dbo, public, pg_temp
AS $$
{% include "bindings/_plpython_preamble.py" %}
{% include "procedures/concepts/_concept_discovery.py" %}

tenant, kind = tenantid, embeddingtype
plpy.execute(plpy.prepare(f"SELECT pg_advisory_xact_lock({LOCK_KEY})", ["integer", "text"]), [tenant, kind])
total = count_embeddings(tenant, kind)
if not total:
    plpy.error(f"fn_DiscoverConcepts: tenant {tenant} has no embeddings of type {kind}", sqlstate="22023")
job = start_job(tenant, kind, {"embedding_type": kind, "min_cluster_size": minclustersize,
                               "coherence_threshold": coherencethreshold, "max_concepts": maxconcepts}, total)
return run_discovery("fn_DiscoverConcepts", tenant, kind, minclustersize, coherencethreshold, maxconcepts, job)
$$;
