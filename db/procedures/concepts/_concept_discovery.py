# One concept discovery run for a resolved tenant and type, in PL/Python: the body both
# dbo.fn_RunConceptDiscovery (in the caller's transaction) and dbo.sp_DiscoverConcepts (committing
# as it goes) run. `checkpoint(stage, processed)` is called as the run moves on: None in the
# function; in the procedure it records the stage in the job row and commits, so others see it.
import json
import time

import numpy as np
from hartonomous_ext import concepts

READ_BATCH = 10000  # rows per read: the payload heads and vectors of a batch in memory at once
WRITE_BATCH = 50000  # memberships per INSERT (one array parameter each)
LOCK_KEY = "hashtext('provenance.Concepts'), hashtext($1::text || '/' || $2)"  # fn_BindConcepts takes it shared


def count_embeddings(tenant, kind):
    """The atoms of the tenant with an embedding of the type (what a run clusters)."""
    return plpy.execute(plpy.prepare(
        "SELECT count(DISTINCT e.AtomId) AS n FROM dbo.Atoms a JOIN dbo.AtomEmbeddings e ON e.AtomId = a.AtomId "
        "WHERE a.TenantId = $1 AND e.EmbeddingType = $2", ["integer", "text"]), [tenant, kind])[0]["n"]


def start_job(tenant, kind, parameters, total):
    return plpy.execute(plpy.prepare(
        "INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, Parameters, TotalItems, AtomsProcessed, StartTime) "
        "VALUES ($1, 'concept-discovery', 'Running', $2, $3, $4, 0, clock_timestamp()) RETURNING IngestionJobId",
        ["integer", "text", "jsonb", "bigint"]), [tenant, kind, json.dumps({**parameters, "stage": "reading"}), total]
    )[0]["ingestionjobid"]


def run_discovery(caller, tenant, kind, min_cluster_size, coherence_threshold, max_concepts, job, checkpoint=None):
    """Read, cluster and write (see dbo.fn_DiscoverConcepts); returns the function's rows."""
    timings = {}
    clock = time.perf_counter()
    # one embedding per atom, the first bytes of each text atom for the labels; by AtomId, a batch at
    # a time (no cursor: the procedure commits between batches)
    page = plpy.prepare("""
        SELECT DISTINCT ON (a.AtomId) a.AtomId, e.EmbeddingVector,
               CASE WHEN a.Modality = 'text' THEN substring(p.Payload FROM 1 FOR {{ policy.CONCEPT_TEXT_BYTES }}) END AS Head
        FROM dbo.Atoms a
        JOIN dbo.AtomEmbeddings e ON e.AtomId = a.AtomId
        LEFT JOIN dbo.AtomPayloadStore p ON p.AtomId = a.AtomId
        WHERE a.TenantId = $1 AND e.EmbeddingType = $2 AND a.AtomId > $3
        ORDER BY a.AtomId, e.AtomEmbeddingId
        LIMIT $4""", ["integer", "text", "bigint", "integer"])
    atom_ids, blobs, texts = [], [], []
    while True:
        rows = plpy.execute(page, [tenant, kind, atom_ids[-1] if atom_ids else 0, READ_BATCH])
        if not len(rows):
            break
        for row in rows:
            atom_ids.append(row["atomid"])
            blobs.append(row["embeddingvector"])
            head = row["head"]
            texts.append(bytes(head).decode("utf-8", errors="ignore") if head is not None else "")
        if checkpoint:
            checkpoint("reading", len(atom_ids))
    if not atom_ids:
        plpy.error(f"{caller}: tenant {tenant} has no embeddings of type {kind}", sqlstate="22023")
    sizes = {len(b) for b in blobs}
    if len(sizes) != 1:
        plpy.error(f"{caller}: the embeddings of type {kind} have different dimensions "
                   f"({sorted(s // 4 for s in sizes)})", sqlstate="22023")
    dimension = sizes.pop() // 4
    matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dimension)
    del blobs
    ids = np.asarray(atom_ids, dtype=np.int64)

    # the previous run's live concepts and what that run found in them: its primary members, not the
    # atoms bound since (binding follows the concepts; evolution compares what runs found)
    previous_rows = plpy.execute(plpy.prepare("""
        SELECT c.ConceptId, c.Dimension, c.Centroid,
               ARRAY(SELECT ac.AtomId FROM provenance.AtomConcepts ac
                     WHERE ac.ConceptId = c.ConceptId AND ac.IsPrimary AND ac.BoundBy = 'discovery'
                     ORDER BY ac.AtomId) AS Members
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
    if checkpoint:
        checkpoint("clustering", len(atom_ids))

    found = concepts.discover(matrix, texts, min_cluster_size, coherence_threshold, max_concepts, previous, ids)
    del texts
    if checkpoint:
        checkpoint("writing", len(atom_ids))
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
                                  concept["primary"], coherence, job])
            concept_ids.append(int(concept["continues"]))
        else:
            concept_ids.append(plpy.execute(insert, [tenant, kind, label, keywords, dimension, centroid, concept["size"],
                                                     concept["primary"], coherence, job])[0]["conceptid"])
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
    # an atom deleted since it was read is left out (the join), not an error
    write = plpy.prepare("""
        INSERT INTO provenance.AtomConcepts (AtomId, ConceptId, Similarity, IsPrimary, BoundBy)
        SELECT m.AtomId, m.ConceptId, m.Similarity, m.IsPrimary, 'discovery'
        FROM unnest($1::bigint[], $2::bigint[], $3::double precision[], $4::boolean[]) AS m (AtomId, ConceptId, Similarity, IsPrimary)
        WHERE EXISTS (SELECT FROM dbo.Atoms a WHERE a.AtomId = m.AtomId)""",
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
            plpy.execute(record, [job, tenant, kind, event["event"], before[0], json.dumps(before), None])
            continue
        concept = found["concepts"][event["concept"]]
        event_of[event["concept"]] = event["event"]
        detail = {"size": concept["size"], "primary_size": concept["primary"],
                  "coherence": round(concept["coherence"], 6), "label": concept["label"]}
        plpy.execute(record, [job, tenant, kind, event["event"], concept_ids[event["concept"]], json.dumps(before),
                              json.dumps(detail)])
    timings["write"] = time.perf_counter() - clock

    counts = {}
    for event in found["events"]:
        counts[event["event"]] = counts.get(event["event"], 0) + 1
    summary = {"stage": "done",
               "min_cluster_size_used": min_cluster_size if min_cluster_size is not None
               else concepts.default_min_cluster_size(len(atom_ids)),
               "concepts": len(concept_ids), "memberships": len(member_atoms), "outliers": int(found["outliers"].size),
               "events": counts, "dimension": dimension,
               "seconds": {stage: round(seconds, 3) for stage, seconds in {**found["timings"], **timings}.items()}}
    plpy.execute(plpy.prepare(
        "UPDATE dbo.IngestionJobs SET Status = 'Completed', EndTime = clock_timestamp(), TotalItems = $2, "
        "AtomsProcessed = $2, Parameters = Parameters || $3 WHERE IngestionJobId = $1", ["bigint", "bigint", "jsonb"]),
        [job, len(atom_ids), json.dumps(summary)])
    return sorted(((concept_ids[j], c["label"][:400], c["size"], min(max(c["coherence"], 0.0), 1.0),
                    event_of.get(j, "born"))
                   for j, c in enumerate(found["concepts"])), key=lambda row: (-row[2], row[0]))  # largest first
