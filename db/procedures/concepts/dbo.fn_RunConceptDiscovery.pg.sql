-- kind: function
-- requires: dbo.Atoms, dbo.AtomEmbeddings, dbo.AtomPayloadStore, dbo.IngestionJobs, provenance.Concepts, provenance.AtomConcepts, provenance.ConceptEvolution, dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: the Python body of dbo.fn_DiscoverConcepts on PostgreSQL, behind its PL/pgSQL front (which checks the arguments and gives the Python's errors as a caller reads them); SQL Server's procedure runs the same Python through sp_execute_external_script
-- dbo.fn_DiscoverConcepts' work for a resolved tenant (see there): not granted to any tenant role.
-- Reads the tenant's embeddings of the type (one per atom) with the first CONCEPT_TEXT_BYTES of
-- each text atom, in batches through a cursor; the live concepts of the previous run with their
-- primary members; runs hartonomous_ext.concepts.discover; writes the concepts (continued ones
-- updated in place, new ones inserted, the rest retired), the memberships (replaced), the evolution
-- and the run's dbo.IngestionJobs row, all in the caller's transaction.
CREATE OR REPLACE FUNCTION dbo.fn_RunConceptDiscovery(TenantId integer, EmbeddingType text, MinClusterSize integer,
                                                      CoherenceThreshold double precision, MaxConcepts integer)
RETURNS TABLE (ConceptId bigint, Label text, Size integer, Coherence double precision, EventType text)
LANGUAGE plpython3u
VOLATILE
SET search_path = dbo, public, pg_temp
AS $$
{% include "bindings/_plpython_preamble.py" %}
import json
import time

import numpy as np
from hartonomous_ext import concepts

READ_BATCH = 10000  # rows per cursor fetch: the payload heads and vectors of a batch in memory at once
WRITE_BATCH = 50000  # memberships per INSERT (one array parameter each)
tenant, kind = tenantid, embeddingtype
clock = time.perf_counter()
timings = {}

# one run at a time per tenant and type: a second waits for the first to commit, then sees its
# concepts as the previous run's; fn_BindConcepts takes the same lock shared
plpy.execute(plpy.prepare("SELECT pg_advisory_xact_lock(hashtext('provenance.Concepts'), hashtext($1::text || '/' || $2))",
                          ["integer", "text"]), [tenant, kind])

cursor = plpy.cursor(plpy.prepare("""
    SELECT DISTINCT ON (a.AtomId) a.AtomId, e.EmbeddingVector,
           CASE WHEN a.Modality = 'text' THEN substring(p.Payload FROM 1 FOR {{ policy.CONCEPT_TEXT_BYTES }}) END AS Head
    FROM dbo.Atoms a
    JOIN dbo.AtomEmbeddings e ON e.AtomId = a.AtomId
    LEFT JOIN dbo.AtomPayloadStore p ON p.AtomId = a.AtomId
    WHERE a.TenantId = $1 AND e.EmbeddingType = $2
    ORDER BY a.AtomId, e.AtomEmbeddingId""", ["integer", "text"]), [tenant, kind])
atom_ids, blobs, texts = [], [], []
while True:
    rows = cursor.fetch(READ_BATCH)
    if not rows:
        break
    for row in rows:
        atom_ids.append(row["atomid"])
        blobs.append(row["embeddingvector"])
        head = row["head"]
        texts.append(bytes(head).decode("utf-8", errors="ignore") if head is not None else "")
if not atom_ids:
    plpy.error(f"fn_DiscoverConcepts: tenant {tenant} has no embeddings of type {kind}", sqlstate="22023")
sizes = {len(b) for b in blobs}
if len(sizes) != 1:
    plpy.error(f"fn_DiscoverConcepts: the embeddings of type {kind} have different dimensions "
               f"({sorted(s // 4 for s in sizes)})", sqlstate="22023")
dimension = sizes.pop() // 4
matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dimension)
del blobs
ids = np.asarray(atom_ids, dtype=np.int64)

previous_rows = plpy.execute(plpy.prepare("""
    SELECT c.ConceptId, c.Dimension, c.Centroid,
           ARRAY(SELECT ac.AtomId FROM provenance.AtomConcepts ac
                 WHERE ac.ConceptId = c.ConceptId AND ac.IsPrimary ORDER BY ac.AtomId) AS Members
    FROM provenance.Concepts c
    WHERE c.TenantId = $1 AND c.EmbeddingType = $2 AND c.RetiredAt IS NULL
    ORDER BY c.ConceptId""", ["integer", "text"]), [tenant, kind])
previous = None
if len(previous_rows):
    previous = {"ids": [int(r["conceptid"]) for r in previous_rows],
                "members": [np.asarray(r["members"] or [], dtype=np.int64) for r in previous_rows]}
    # a type whose model changed dimension: match by shared atoms only
    if all(r["dimension"] == dimension for r in previous_rows):
        previous["centroids"] = [r["centroid"] for r in previous_rows]
timings["read"] = time.perf_counter() - clock

parameters = {"embedding_type": kind, "min_cluster_size": minclustersize, "coherence_threshold": coherencethreshold,
              "max_concepts": maxconcepts}
run = plpy.execute(plpy.prepare(
    "INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, Parameters, TotalItems, StartTime) "
    "VALUES ($1, 'concept-discovery', 'Running', $2, $3, $4, clock_timestamp()) RETURNING IngestionJobId",
    ["integer", "text", "jsonb", "bigint"]), [tenant, kind, json.dumps(parameters), len(atom_ids)])[0]["ingestionjobid"]

found = concepts.discover(matrix, texts, minclustersize, coherencethreshold, maxconcepts, previous, ids)
del texts
clock = time.perf_counter()

update = plpy.prepare(
    "UPDATE provenance.Concepts SET Label = $2, Keywords = $3, Dimension = $4, Centroid = $5, Size = $6, PrimarySize = $7, "
    "Coherence = $8, DiscoveryRunId = $9, UpdatedAt = now() WHERE ConceptId = $1",
    ["bigint", "text", "jsonb", "integer", "bytea", "integer", "integer", "double precision", "bigint"])
insert = plpy.prepare(
    "INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Keywords, Dimension, Centroid, Size, PrimarySize, "
    "Coherence, DiscoveryRunId) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ConceptId",
    ["integer", "text", "text", "jsonb", "integer", "bytea", "integer", "integer", "double precision", "bigint"])
concept_ids = []
for concept in found["concepts"]:
    label = concept["label"][:400]
    keywords = json.dumps([[word, round(weight, 6)] for word, weight in concept["keywords"]])
    centroid = np.asarray(concept["centroid"], dtype="<f4").tobytes()
    coherence = min(max(concept["coherence"], 0.0), 1.0)  # a mean cosine; float rounding may pass 1
    if concept["continues"] is not None:
        plpy.execute(update, [concept["continues"], label, keywords, dimension, centroid, concept["size"],
                              concept["primary"], coherence, run])
        concept_ids.append(int(concept["continues"]))
    else:
        concept_ids.append(plpy.execute(insert, [tenant, kind, label, keywords, dimension, centroid, concept["size"],
                                                 concept["primary"], coherence, run])[0]["conceptid"])
# every previous concept no new one continues is retired (gone, or merged into or split off another)
retired = sorted(set(previous["ids"]) - set(concept_ids)) if previous else []
if retired:
    plpy.execute(plpy.prepare("UPDATE provenance.Concepts SET RetiredAt = now(), UpdatedAt = now() "
                              "WHERE ConceptId = ANY($1)", ["bigint[]"]), [retired])

plpy.execute(plpy.prepare("""
    DELETE FROM provenance.AtomConcepts ac USING provenance.Concepts c
    WHERE c.ConceptId = ac.ConceptId AND c.TenantId = $1 AND c.EmbeddingType = $2""", ["integer", "text"]),
    [tenant, kind])
links = found["memberships"]
member_atoms = ids[links["atom"]].tolist()
member_concepts = np.asarray(concept_ids, dtype=np.int64)[links["concept"]].tolist() if concept_ids else []
similarities = np.clip(links["similarity"].astype(np.float64), -1.0, 1.0).tolist()
primary = links["primary"].tolist()
write = plpy.prepare("""
    INSERT INTO provenance.AtomConcepts (AtomId, ConceptId, Similarity, IsPrimary, BoundBy)
    SELECT m.AtomId, m.ConceptId, m.Similarity, m.IsPrimary, 'discovery'
    FROM unnest($1::bigint[], $2::bigint[], $3::double precision[], $4::boolean[]) AS m (AtomId, ConceptId, Similarity, IsPrimary)""",
    ["bigint[]", "bigint[]", "double precision[]", "boolean[]"])
for start in range(0, len(member_atoms), WRITE_BATCH):
    end = start + WRITE_BATCH
    plpy.execute(write, [member_atoms[start:end], member_concepts[start:end], similarities[start:end], primary[start:end]])

record = plpy.prepare(
    "INSERT INTO provenance.ConceptEvolution (DiscoveryRunId, TenantId, EmbeddingType, EventType, ConceptId, "
    "PreviousConceptIds, Detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    ["bigint", "integer", "text", "text", "bigint", "jsonb", "jsonb"])
event_of = {}
for event in found["events"]:
    before = [int(i) for i in event["previous"]]
    if event["concept"] is None:  # gone: the retired concept itself
        plpy.execute(record, [run, tenant, kind, event["event"], before[0], json.dumps(before), None])
        continue
    concept = found["concepts"][event["concept"]]
    event_of[event["concept"]] = event["event"]
    detail = {"size": concept["size"], "primary_size": concept["primary"],
              "coherence": round(concept["coherence"], 6), "label": concept["label"]}
    plpy.execute(record, [run, tenant, kind, event["event"], concept_ids[event["concept"]], json.dumps(before),
                          json.dumps(detail)])
timings["write"] = time.perf_counter() - clock

counts = {}
for event in found["events"]:
    counts[event["event"]] = counts.get(event["event"], 0) + 1
summary = {"min_cluster_size_used": minclustersize if minclustersize is not None
           else concepts.default_min_cluster_size(len(atom_ids)),
           "concepts": len(concept_ids), "memberships": len(member_atoms), "outliers": int(found["outliers"].size),
           "events": counts, "dimension": dimension,
           "seconds": {stage: round(seconds, 3) for stage, seconds in {**found["timings"], **timings}.items()}}
plpy.execute(plpy.prepare(
    "UPDATE dbo.IngestionJobs SET Status = 'Completed', EndTime = clock_timestamp(), AtomsProcessed = $2, "
    "Parameters = Parameters || $3 WHERE IngestionJobId = $1", ["bigint", "bigint", "jsonb"]),
    [run, len(atom_ids), json.dumps(summary)])
return sorted(((concept_ids[j], c["label"][:400], c["size"], min(max(c["coherence"], 0.0), 1.0), event_of.get(j, "born"))
               for j, c in enumerate(found["concepts"])), key=lambda row: (-row[2], row[0]))  # largest first
$$;
