"""Concept discovery in the database (PostgreSQL): dbo.fn_DiscoverConcepts on real text with known
groups (Debian package descriptions of clearly different sections, embedded by the packaged
all-MiniLM-L6-v2), labels that name the groups, a second run that finds a new group and keeps the
old identities, binding at ingest (dbo.fn_BindConcepts through dbo.sp_IngestAtom, and a whole batch
through dbo.sp_IngestAtoms), tenants that cannot see each other's concepts, and bad arguments that
change nothing."""

from __future__ import annotations

import base64
import collections
import json
import time

import psycopg
import pytest

from conftest import publish_with_logins
from deployer.package import render_package
from tools.corpus import debian_descriptions

FIRST = ("fonts", "games", "perl")  # sections whose short descriptions the model tells apart
ADDED = "mail"  # the group the second run finds
PER_SECTION = 40
LATER = 6  # descriptions of each section kept back from the runs, ingested as one batch after them
FAR = ("Quarterly value added tax returns are due on the first of the month for Danish companies",
       "Slow-roasted lamb shoulder with rosemary, garlic and lemon, served with potatoes",
       "Arctic terns migrate from the Arctic to the Antarctic and back again every year")
WORDS = {"fonts": "font", "games": "game", "perl": "perl", "mail": "mail"}  # a word each group's label holds
TABLES = ("provenance.Concepts", "provenance.AtomConcepts", "provenance.ConceptEvolution", "dbo.IngestionJobs")


@pytest.fixture(scope="module")
def sections() -> dict[str, list[str]]:
    found = collections.defaultdict(list)
    for text, section in debian_descriptions():
        if section in FIRST + (ADDED,) and len(found[section]) < PER_SECTION + LATER:
            found[section].append(text)
    return found


def ingest(conn, texts, tenant=0) -> list[int]:
    batch = json.dumps([{"content": base64.b64encode(t.encode()).decode(), "contentType": "text/plain"} for t in texts])
    return [r[0] for r in conn.execute("SELECT AtomId FROM dbo.sp_IngestAtoms(%s, %s, true) ORDER BY Ordinal",
                                       (batch, tenant)).fetchall()]


def discover(conn, **named):
    names = ", ".join(f"{k} => %({k})s" for k in named)
    return conn.execute(f"SELECT ConceptId, Label, Size, Coherence, EventType FROM dbo.fn_DiscoverConcepts({names})",
                        named).fetchall()


def counts(conn) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def section_of_concepts(conn, atoms: dict[int, str]) -> dict[int, collections.Counter]:
    """Each live concept's primary members counted by their section."""
    found = collections.defaultdict(collections.Counter)
    for atom, concept in conn.execute("SELECT ac.AtomId, ac.ConceptId FROM provenance.AtomConcepts ac "
                                      "JOIN provenance.Concepts c ON c.ConceptId = ac.ConceptId "
                                      "WHERE ac.IsPrimary AND c.RetiredAt IS NULL").fetchall():
        if atom in atoms:
            found[concept][atoms[atom]] += 1
    return found


@pytest.fixture(scope="module")
def first_run(published, sections):
    with psycopg.connect(published, autocommit=True) as conn:
        atoms = {}
        for section in FIRST:
            atoms.update(dict.fromkeys(ingest(conn, sections[section][:PER_SECTION]), section))
        started = time.perf_counter()
        rows = discover(conn, MinClusterSize=10)
        seconds = time.perf_counter() - started
    return {"url": published, "atoms": atoms, "rows": rows, "seconds": seconds}


@pytest.fixture(scope="module")
def second_run(first_run, sections):
    with psycopg.connect(first_run["url"], autocommit=True) as conn:
        atoms = dict(first_run["atoms"])
        # the new group's batch is bound on arrival (sp_IngestAtoms) to whichever old concepts it is
        # near (BoundBy 'ingest'); the second run still finds it a group of its own
        added = ingest(conn, sections[ADDED][:PER_SECTION])
        atoms.update(dict.fromkeys(added, ADDED))
        bound_on_arrival = conn.execute("SELECT count(DISTINCT AtomId) FROM provenance.AtomConcepts WHERE AtomId = ANY(%s)",
                                        (added,)).fetchone()[0]
        rows = discover(conn, MinClusterSize=10)
    return {"url": first_run["url"], "atoms": atoms, "rows": rows, "before": first_run["rows"],
            "bound_on_arrival": bound_on_arrival}


def test_discovery_finds_the_known_groups_with_labels_naming_them(first_run):
    rows, atoms = first_run["rows"], first_run["atoms"]
    assert len(rows) == len(FIRST)
    assert all(event == "born" for *_, event in rows)
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)  # largest first
    with psycopg.connect(first_run["url"]) as conn:
        members = section_of_concepts(conn, atoms)
        labels = dict(conn.execute("SELECT ConceptId, Label FROM provenance.Concepts WHERE RetiredAt IS NULL").fetchall())
        keywords = conn.execute("SELECT Keywords FROM provenance.Concepts LIMIT 1").fetchone()[0]
    found = {}
    for concept, sections in members.items():
        section, count = sections.most_common(1)[0]
        assert count >= 0.75 * PER_SECTION and count >= 0.9 * sum(sections.values()), (labels[concept], sections)
        assert WORDS[section] in labels[concept], (labels[concept], section)
        found[section] = concept
    assert set(found) == set(FIRST)
    assert len(keywords) > 3 and all(isinstance(w, str) and weight > 0 for w, weight in keywords)


def test_discovery_records_its_run_memberships_and_births(first_run):
    with psycopg.connect(first_run["url"]) as conn:
        run, status, total, done, parameters = conn.execute(
            "SELECT IngestionJobId, Status, TotalItems, AtomsProcessed, Parameters FROM dbo.IngestionJobs "
            "WHERE JobType = 'concept-discovery' ORDER BY IngestionJobId LIMIT 1").fetchone()
        assert (status, total, done) == ("Completed", len(FIRST) * PER_SECTION, len(FIRST) * PER_SECTION)
        assert parameters["concepts"] == len(FIRST) and parameters["min_cluster_size_used"] == 10
        assert {"reduce", "neighbours", "hierarchy", "labels", "read", "write"} <= set(parameters["seconds"])
        assert conn.execute("SELECT count(*) FROM provenance.Concepts WHERE DiscoveryRunId = %s", (run,)).fetchone()[0] \
            == len(FIRST)
        events = conn.execute("SELECT EventType, PreviousConceptIds, Detail->>'label' FROM provenance.ConceptEvolution "
                              "WHERE DiscoveryRunId = %s", (run,)).fetchall()
        assert [e[0] for e in events] == ["born"] * len(FIRST) and all(e[1] == [] and e[2] for e in events)
        # every atom at most three memberships, exactly one primary when it has any; similarities in range
        per_atom = conn.execute("SELECT count(*), count(*) FILTER (WHERE IsPrimary), min(Similarity), max(Similarity) "
                                "FROM provenance.AtomConcepts GROUP BY AtomId").fetchall()
        assert per_atom and all(1 <= n <= 3 and primary == 1 and 0.3 <= low <= high <= 1 for n, primary, low, high in per_atom)
        assert conn.execute("SELECT DISTINCT BoundBy FROM provenance.AtomConcepts").fetchall() == [("discovery",)]
        unassigned = len(FIRST) * PER_SECTION - len(per_atom)
        assert unassigned <= 0.25 * len(FIRST) * PER_SECTION


def test_a_second_run_finds_the_new_group_born_and_keeps_the_old_identities(second_run):
    before = {r[0] for r in second_run["before"]}
    rows = second_run["rows"]
    with psycopg.connect(second_run["url"]) as conn:
        members = section_of_concepts(conn, second_run["atoms"])
        labels = dict(conn.execute("SELECT ConceptId, Label FROM provenance.Concepts WHERE RetiredAt IS NULL").fetchall())
        retired = conn.execute("SELECT count(*) FROM provenance.Concepts WHERE RetiredAt IS NOT NULL").fetchone()[0]
        run = conn.execute("SELECT max(IngestionJobId) FROM dbo.IngestionJobs WHERE JobType = 'concept-discovery'").fetchone()[0]
        events = conn.execute("SELECT EventType, ConceptId FROM provenance.ConceptEvolution WHERE DiscoveryRunId = %s",
                              (run,)).fetchall()
        updated = conn.execute("SELECT count(*) FROM provenance.Concepts WHERE DiscoveryRunId = %s AND CreatedAt < UpdatedAt",
                               (run,)).fetchone()[0]
    assert len(rows) == len(FIRST) + 1 and retired == 0
    assert {r[0] for r in rows} > before  # the old ids continue, one new id
    # born, though some of its atoms had joined an old concept on arrival
    assert 0 < second_run["bound_on_arrival"] < PER_SECTION
    (born,) = [r for r in rows if r[4] == "born"]
    assert born[0] not in before
    assert members[born[0]].most_common(1)[0][0] == ADDED and WORDS[ADDED] in labels[born[0]]
    assert all(r[4] in ("stable", "grown", "shrunk") for r in rows if r[0] in before)
    assert sorted(e[0] for e in events) == sorted(r[4] for r in rows) and updated == len(FIRST)


def test_a_new_atom_is_bound_at_ingest_to_its_concept(second_run, sections):
    with psycopg.connect(second_run["url"], autocommit=True) as conn:
        concept_of = {section: concept for concept, counted in section_of_concepts(conn, second_run["atoms"]).items()
                      for section in [counted.most_common(1)[0][0]]}
        text = "Perl module to read and write configuration files in the INI format"
        started = time.perf_counter()
        (atom,) = conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', NULL, 0, true)", (text.encode(),)).fetchone()
        ingest_ms = (time.perf_counter() - started) * 1000
        bound = conn.execute("SELECT ConceptId, Similarity, IsPrimary, BoundBy FROM provenance.AtomConcepts "
                             "WHERE AtomId = %s ORDER BY IsPrimary DESC, Similarity DESC", (atom,)).fetchall()
        assert bound and bound[0][0] == concept_of["perl"] and bound[0][2] and bound[0][3] == "ingest"
        assert sum(b[2] for b in bound) == 1 and len(bound) <= 3
        # binding again by hand gives the same memberships, and is fast
        conn.execute("SELECT * FROM dbo.fn_BindConcepts(%s)", (atom,)).fetchall()
        started = time.perf_counter()
        again = conn.execute("SELECT ConceptId, EmbeddingType, Label, Similarity, IsPrimary FROM dbo.fn_BindConcepts(%s)",
                             (atom,)).fetchall()
        bind_ms = (time.perf_counter() - started) * 1000
        assert [(r[0], r[4]) for r in again] == [(b[0], b[2]) for b in bound]
        assert again[0][1] == "all-MiniLM-L6-v2" and "perl" in again[0][2]
        # a stricter threshold, at most one concept
        one = conn.execute("SELECT ConceptId FROM dbo.fn_BindConcepts(%s, 0.3, 1)", (atom,)).fetchall()
        assert one == [(concept_of["perl"],)]
        # an atom without concepts of its type (no embedding asked): stored, not bound
        (plain,) = conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', NULL, 0, false)", (b"an unembedded note",)).fetchone()
        assert conn.execute("SELECT count(*) FROM provenance.AtomConcepts WHERE AtomId = %s", (plain,)).fetchone()[0] == 0
    print(f"ingest with binding {ingest_ms:.0f} ms, fn_BindConcepts {bind_ms:.1f} ms")


def test_a_bind_that_fails_leaves_the_atom_stored_and_unbound(second_run):
    # a discovery run of the type holds its lock past the session's lock_timeout: binding fails, the
    # ingest still stores the atom and says so
    with psycopg.connect(second_run["url"], autocommit=True) as discovery, psycopg.connect(second_run["url"]) as conn:
        discovery.execute("BEGIN")
        discovery.execute("SELECT pg_advisory_xact_lock(hashtext('provenance.Concepts'), hashtext('0/all-MiniLM-L6-v2'))")
        conn.execute("SET lock_timeout = '200ms'")
        notices = []
        conn.add_notice_handler(lambda n: notices.append(n.message_primary))
        (atom,) = conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', NULL, 0, true)",
                               (b"A Perl module that parses command line options",)).fetchone()
        assert atom is not None
        assert conn.execute("SELECT count(*) FROM dbo.Atoms WHERE AtomId = %s", (atom,)).fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM provenance.AtomConcepts WHERE AtomId = %s", (atom,)).fetchone() == (0,)
        assert any(f"atom {atom} is stored but not bound to its concepts" in n for n in notices), notices
        conn.rollback()
        discovery.execute("ROLLBACK")


def ruled(conn, atoms) -> dict[int, list[tuple[int, bool]]]:
    """What the rule gives each atom, worked out here from the stored vectors: every live concept of
    its tenant's type at least cosine 0.3 close, at most 3, the nearest primary."""
    import numpy as np

    concepts = conn.execute("SELECT ConceptId, Centroid FROM provenance.Concepts WHERE TenantId = 0 AND RetiredAt IS NULL "
                            "AND EmbeddingType = 'all-MiniLM-L6-v2' ORDER BY ConceptId").fetchall()
    centroids = np.vstack([np.frombuffer(c, "<f4") for _, c in concepts])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    found = {}
    for atom, vector in conn.execute("SELECT AtomId, EmbeddingVector FROM dbo.AtomEmbeddings WHERE AtomId = ANY(%s)",
                                     (list(atoms),)).fetchall():
        v = np.frombuffer(vector, "<f4") / np.linalg.norm(np.frombuffer(vector, "<f4"))
        scores = centroids @ v
        order = [i for i in np.argsort(-scores, kind="stable")[:3] if scores[i] >= 0.3]
        found[atom] = [(concepts[i][0], rank == 0) for rank, i in enumerate(order)]
    return found


def memberships_of(conn, atoms) -> dict[int, list[tuple]]:
    found = {a: [] for a in atoms}
    for atom, concept, primary, by, at in conn.execute(
            "SELECT AtomId, ConceptId, IsPrimary, BoundBy, BoundAt FROM provenance.AtomConcepts WHERE AtomId = ANY(%s) "
            "ORDER BY AtomId, IsPrimary DESC, Similarity DESC", (list(atoms),)).fetchall():
        found[atom].append((concept, primary, by, at))
    return found


def test_a_batch_is_bound_at_ingest_in_one_pass(second_run, sections):
    # descriptions the runs never saw, of the four groups, and three texts far from all of them
    texts = {t: section for section in FIRST + (ADDED,) for t in sections[section][PER_SECTION:]}
    texts.update(dict.fromkeys(FAR, "far"))
    with psycopg.connect(second_run["url"], autocommit=True) as conn:
        concept_of = {section: concept for concept, counted in section_of_concepts(conn, second_run["atoms"]).items()
                      for section in [counted.most_common(1)[0][0]]}
        started = time.perf_counter()
        atoms = dict(zip(ingest(conn, list(texts)), texts.values()))
        batch_ms = (time.perf_counter() - started) * 1000
        bound = memberships_of(conn, atoms)
        assert {a: [(c, p) for c, p, *_ in rows] for a, rows in bound.items()} == ruled(conn, atoms)
        assert {by for rows in bound.values() for _, _, by, _ in rows} == {"ingest"}
        far = [a for a, section in atoms.items() if section == "far"]
        assert all(bound[a] == [] for a in far)
        # the near ones are bound, most to their own group's concept as primary
        near = [a for a, section in atoms.items() if section != "far"]
        right = sum(bool(bound[a]) and bound[a][0][0] == concept_of[atoms[a]] and bound[a][0][1] for a in near)
        assert right >= 0.75 * len(near), ({a: (atoms[a], bound[a][:1]) for a in near}, concept_of)

        # stored content ingested again is not bound again: what is bound keeps its rows (and its
        # BoundAt), an atom without memberships (as a run's outlier has none) stays without
        outlier = next(a for a in near if bound[a])
        conn.execute("DELETE FROM provenance.AtomConcepts WHERE AtomId = %s", (outlier,))
        assert ingest(conn, list(texts)) == list(atoms)
        again = memberships_of(conn, atoms)
        assert again[outlier] == [] and {a: r for a, r in again.items() if a != outlier} == \
            {a: r for a, r in bound.items() if a != outlier}
    print(f"batch of {len(texts)} ingested, embedded and bound in {batch_ms:.0f} ms")


def test_a_batch_whose_bind_fails_is_stored_unbound_with_a_notice(second_run, sections):
    # a discovery run of the type holds its lock past the session's lock_timeout: the batch's bind
    # fails, the batch is still stored (its embeddings too) and the notice says why
    texts = ["A Perl module that reads mailbox files", "Fonts for the Devanagari script", "A puzzle game of falling blocks"]
    with psycopg.connect(second_run["url"], autocommit=True) as discovery, psycopg.connect(second_run["url"]) as conn:
        discovery.execute("BEGIN")
        discovery.execute("SELECT pg_advisory_xact_lock(hashtext('provenance.Concepts'), hashtext('0/all-MiniLM-L6-v2'))")
        conn.execute("SET lock_timeout = '200ms'")
        notices = []
        conn.add_notice_handler(lambda n: notices.append(n.message_primary))
        batch = json.dumps([{"content": base64.b64encode(t.encode()).decode(), "contentType": "text/plain"} for t in texts])
        rows = conn.execute("SELECT AtomId, Inserted, AtomEmbeddingId FROM dbo.sp_IngestAtoms(%s, 0, true) ORDER BY Ordinal",
                            (batch,)).fetchall()
        atoms = [r[0] for r in rows]
        assert len(rows) == 3 and all(inserted and embedding for _, inserted, embedding in rows)
        assert conn.execute("SELECT count(*) FROM dbo.Atoms WHERE AtomId = ANY(%s)", (atoms,)).fetchone() == (3,)
        assert conn.execute("SELECT count(*) FROM provenance.AtomConcepts WHERE AtomId = ANY(%s)", (atoms,)).fetchone() == (0,)
        assert any("sp_IngestAtoms: 3 atoms are stored but not bound to their concepts" in n and "lock timeout" in n
                   for n in notices), notices
        conn.rollback()
        discovery.execute("ROLLBACK")
        # the same batch, the run gone: bound
        with psycopg.connect(second_run["url"], autocommit=True) as free:
            atoms = [r[0] for r in free.execute("SELECT AtomId FROM dbo.sp_IngestAtoms(%s, 0, true)", (batch,)).fetchall()]
            assert free.execute("SELECT count(DISTINCT AtomId) FROM provenance.AtomConcepts WHERE AtomId = ANY(%s)",
                                (atoms,)).fetchone() == (3,)


def test_discovery_leaves_other_tenants_alone(second_run):
    with psycopg.connect(second_run["url"], autocommit=True) as conn:
        ingest(conn, ["tenant nine's only note about gardening", "tenant nine's second note about roses"], tenant=9)
        before = conn.execute("SELECT ConceptId, Size, RetiredAt FROM provenance.Concepts WHERE TenantId = 0 "
                              "ORDER BY ConceptId").fetchall()
        assert discover(conn, TenantId=9) == []  # two atoms are no concept
        assert conn.execute("SELECT ConceptId, Size, RetiredAt FROM provenance.Concepts WHERE TenantId = 0 "
                            "ORDER BY ConceptId").fetchall() == before


@pytest.mark.parametrize("call, message", [
    ("SELECT * FROM dbo.fn_DiscoverConcepts(1)", "fn_DiscoverConcepts: MinClusterSize must be at least 2"),
    ("SELECT * FROM dbo.fn_DiscoverConcepts(NULL, 1.5)", "fn_DiscoverConcepts: CoherenceThreshold is a mean cosine between 0 and 1"),
    ("SELECT * FROM dbo.fn_DiscoverConcepts(NULL, NULL)", "fn_DiscoverConcepts: CoherenceThreshold is a mean cosine between 0 and 1, not NULL"),
    ("SELECT * FROM dbo.fn_DiscoverConcepts(NULL, 0.4, 0)", "fn_DiscoverConcepts: MaxConcepts must be at least 1"),
    ("SELECT * FROM dbo.fn_DiscoverConcepts(EmbeddingType => '')", "fn_DiscoverConcepts: EmbeddingType must name a type"),
    ("SELECT * FROM dbo.fn_DiscoverConcepts(EmbeddingType => 'no-such-model')",
     "fn_DiscoverConcepts: tenant 0 has no embeddings of type no-such-model"),
    ("SELECT * FROM dbo.fn_DiscoverConcepts(TenantId => -1)", "fn_DiscoverConcepts: TenantId must be 0 or more"),
    ("SELECT * FROM dbo.fn_BindConcepts(NULL)", "fn_BindConcepts: AtomId is required"),
    ("SELECT * FROM dbo.fn_BindConcepts(1, 2)", "fn_BindConcepts: SimilarityThreshold is a cosine similarity between -1 and 1"),
    ("SELECT * FROM dbo.fn_BindConcepts(1, 0.3, 0)", "fn_BindConcepts: MaxConceptsPerAtom must be at least 1"),
    ("SELECT * FROM dbo.fn_BindConcepts(999999999)", "fn_BindConcepts: atom 999999999 does not exist for tenant 0"),
])
def test_bad_arguments_are_refused_clearly_and_change_nothing(first_run, call, message):
    with psycopg.connect(first_run["url"], autocommit=True) as conn:
        before = counts(conn)
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(call)
        assert message in str(caught.value) and "plpy" not in str(caught.value)
        assert caught.value.sqlstate == "22023"
        assert counts(conn) == before


def test_an_atom_without_an_embedding_cannot_be_bound(first_run):
    with psycopg.connect(first_run["url"], autocommit=True) as conn:
        (atom,) = conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', NULL, 0, false)", (b"no vector here",)).fetchone()
        with pytest.raises(psycopg.Error, match=f"fn_BindConcepts: atom {atom} has no embedding to bind by"):
            conn.execute("SELECT * FROM dbo.fn_BindConcepts(%s)", (atom,))


def test_public_concept_routines_take_the_same_parameters_on_both_engines():
    from test_pipeline import _mssql_parameters, _pg_parameters

    mssql = {r.obj.name: r.sql for r in render_package("mssql")}
    pg = {r.obj.name: r.sql for r in render_package("postgresql")}
    for name in ("dbo.fn_DiscoverConcepts", "dbo.fn_BindConcepts"):
        assert _mssql_parameters(mssql[name]) == _pg_parameters(pg[name]), name


# tenants: the roles' view, on a publish of its own (the roles carry the database's name) ----------

LOGINS = {"alice": ("app", [1]), "bob": ("app", [2]), "rita": ("reader", [1])}


@pytest.fixture(scope="module")
def tenancy(pg_instance, tmp_path_factory, sections):
    def two_tenants(conn):
        for tenant, section_names in ((1, ("fonts", "games")), (2, ("perl", "mail"))):
            for section in section_names:
                ingest(conn, sections[section][:20], tenant)

    return publish_with_logins(pg_instance, tmp_path_factory.mktemp("logs"), "concepts", LOGINS, two_tenants)


def test_a_tenant_sees_and_binds_only_its_own_concepts(tenancy, open_login):
    alice, bob, rita = (open_login(tenancy["url"], tenancy["logins"][n]) for n in ("alice", "bob", "rita"))
    mine = alice.rows("SELECT ConceptId, Label FROM dbo.fn_DiscoverConcepts(5)")
    theirs = bob.rows("SELECT ConceptId, Label FROM dbo.fn_DiscoverConcepts(5)")
    assert mine and theirs and not {c for c, _ in mine} & {c for c, _ in theirs}
    # an application login reads no table; the reader sees its tenant's rows only
    assert alice.error("SELECT * FROM provenance.Concepts").sqlstate == "42501"
    assert alice.error("CALL dbo.sp_DiscoverConcepts(5)").sqlstate == "42501"  # the DBA's committing form
    assert {r[0] for r in rita.rows("SELECT ConceptId FROM provenance.Concepts")} == {c for c, _ in mine}
    assert {r[0] for r in rita.rows("SELECT TenantId FROM provenance.ConceptEvolution")} == {1}
    seen = rita.rows("SELECT DISTINCT a.TenantId FROM provenance.AtomConcepts ac JOIN dbo.Atoms a ON a.AtomId = ac.AtomId")
    assert seen == [(1,)]
    # another tenant's run or atom is refused, not served
    assert "fn_DiscoverConcepts: tenant 2 is not this session's tenant" in str(
        alice.error("SELECT * FROM dbo.fn_DiscoverConcepts(5, TenantId => 2)"))
    (bobs_atom,) = bob.rows("CALL dbo.sp_IngestAtom(%s, 'text/plain', NULL, NULL, true)",
                            b"Perl module to parse command line options")[0]
    assert "fn_BindConcepts: atom" in str(alice.error("SELECT * FROM dbo.fn_BindConcepts(%s)", bobs_atom))
    with psycopg.connect(tenancy["url"]) as admin:
        tenant_of_bound = admin.execute("SELECT DISTINCT c.TenantId FROM provenance.AtomConcepts ac "
                                        "JOIN provenance.Concepts c ON c.ConceptId = ac.ConceptId WHERE ac.AtomId = %s",
                                        (bobs_atom,)).fetchall()
    assert tenant_of_bound == [(2,)]  # bound at ingest, to bob's concepts


# the DBA's committing form, progress and failure; two groups that become one ---------------------

def test_the_committing_run_shows_its_progress_and_ends_completed(second_run):
    """CALL dbo.sp_DiscoverConcepts commits its job row and its stages as it goes: another session
    sees the run at 'writing' while it waits on a table another transaction holds, then Completed."""
    import threading

    with psycopg.connect(second_run["url"], autocommit=True) as blocker, \
            psycopg.connect(second_run["url"], autocommit=True) as watcher:
        before = watcher.execute("SELECT count(*) FROM dbo.IngestionJobs WHERE JobType = 'concept-discovery'").fetchone()[0]
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE provenance.Concepts IN EXCLUSIVE MODE")  # reads pass, writes wait
        result = {}

        def run():
            with psycopg.connect(second_run["url"], autocommit=True) as conn:
                result["job"] = conn.execute("CALL dbo.sp_DiscoverConcepts(MinClusterSize => 10)").fetchone()[0]

        worker = threading.Thread(target=run)
        worker.start()
        seen = None
        for _ in range(600):
            seen = watcher.execute(
                "SELECT Status, Parameters->>'stage', AtomsProcessed, TotalItems FROM dbo.IngestionJobs "
                "WHERE JobType = 'concept-discovery' ORDER BY IngestionJobId DESC LIMIT 1").fetchone()
            if seen[1] == "writing":
                break
            time.sleep(0.1)
        total = watcher.execute("SELECT count(DISTINCT e.AtomId) FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a "
                                "ON a.AtomId = e.AtomId WHERE a.TenantId = 0").fetchone()[0]
        blocker.execute("ROLLBACK")
        worker.join(120)
        assert seen == ("Running", "writing", total, total)
        status, stage, done, parameters = watcher.execute(
            "SELECT Status, Parameters->>'stage', AtomsProcessed, Parameters FROM dbo.IngestionJobs "
            "WHERE IngestionJobId = %s", (result["job"],)).fetchone()
        assert (status, stage, done) == ("Completed", "done", total)
        assert parameters["concepts"] == watcher.execute(
            "SELECT count(*) FROM provenance.Concepts WHERE DiscoveryRunId = %s", (result["job"],)).fetchone()[0] > 0
        assert watcher.execute("SELECT count(*) FROM dbo.IngestionJobs WHERE JobType = 'concept-discovery'"
                               ).fetchone()[0] == before + 1


def test_a_committing_run_that_fails_says_so_in_its_row_and_writes_nothing(published):
    with psycopg.connect(published, autocommit=True) as conn:
        atoms = ingest(conn, ["a note of tenant eleven", "another note of tenant eleven"], tenant=11)
        for atom, dimension in zip(atoms, (3, 4)):  # two dimensions in one type: discovery refuses it
            conn.execute("INSERT INTO dbo.AtomEmbeddings (AtomId, EmbeddingType, Dimension, EmbeddingVector) "
                         "VALUES (%s, 'mixed', %s, %s)", (atom, dimension, bytes(4 * dimension)))
        before = counts(conn)
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("CALL dbo.sp_DiscoverConcepts(TenantId => 11, EmbeddingType => 'mixed')")
        assert "sp_DiscoverConcepts: the embeddings of type mixed have different dimensions ([3, 4])" in str(caught.value)
        assert caught.value.sqlstate == "22023"
        after = counts(conn)
        assert after == {**before, "dbo.IngestionJobs": before["dbo.IngestionJobs"] + 1}
        assert conn.execute("SELECT Status, Parameters->>'stage', ErrorMessage FROM dbo.IngestionJobs "
                            "ORDER BY IngestionJobId DESC LIMIT 1").fetchone() == (
            "Failed", "failed", "sp_DiscoverConcepts: the embeddings of type mixed have different dimensions ([3, 4])")
        # the lock was released: the next run of the type is not kept waiting
        conn.execute("SET lock_timeout = '2s'")
        with pytest.raises(psycopg.Error, match="different dimensions"):
            conn.execute("SELECT * FROM dbo.fn_DiscoverConcepts(TenantId => 11, EmbeddingType => 'mixed')")


@pytest.mark.parametrize("call, message", [
    ("CALL dbo.sp_DiscoverConcepts(1)", "sp_DiscoverConcepts: MinClusterSize must be at least 2"),
    ("CALL dbo.sp_DiscoverConcepts(NULL, 0.4, 0)", "sp_DiscoverConcepts: MaxConcepts must be at least 1"),
    ("CALL dbo.sp_DiscoverConcepts(EmbeddingType => 'no-such-model')",
     "sp_DiscoverConcepts: tenant 0 has no embeddings of type no-such-model"),
    ("CALL dbo.sp_DiscoverConcepts(TenantId => -1)", "sp_DiscoverConcepts: TenantId must be 0 or more"),
])
def test_the_committing_run_refuses_bad_arguments_before_its_job_row(first_run, call, message):
    with psycopg.connect(first_run["url"], autocommit=True) as conn:
        before = counts(conn)
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(call)
        assert message in str(caught.value) and caught.value.sqlstate == "22023"
        assert counts(conn) == before


def test_two_concepts_that_become_one_are_merged_and_keep_one_identity(published, sections):
    """Tenant 7's fonts and games, first with MinClusterSize 6 (one section found as two smaller
    concepts), then again with 10 through the committing procedure: the two are one concept now,
    merged from both and continuing one of their ids; the other is retired; the third is stable."""
    with psycopg.connect(published, autocommit=True) as conn:
        atoms = {}
        for section in ("fonts", "games"):
            atoms.update(dict.fromkeys(ingest(conn, sections[section][:PER_SECTION], tenant=7), section))
        first = {r[0] for r in discover(conn, MinClusterSize=6, TenantId=7)}
        job = conn.execute("CALL dbo.sp_DiscoverConcepts(MinClusterSize => 10, TenantId => 7)").fetchone()[0]
        events = conn.execute("SELECT EventType, ConceptId, PreviousConceptIds FROM provenance.ConceptEvolution "
                              "WHERE DiscoveryRunId = %s ORDER BY EventType", (job,)).fetchall()
        live = {r[0] for r in conn.execute("SELECT ConceptId FROM provenance.Concepts WHERE TenantId = 7 AND RetiredAt IS NULL")}
        retired = {r[0] for r in conn.execute("SELECT ConceptId FROM provenance.Concepts WHERE TenantId = 7 "
                                             "AND RetiredAt IS NOT NULL")}
        members = section_of_concepts(conn, atoms)
    assert len(first) == 3 and [e[0] for e in events] == ["merged", "stable"]
    (_, merged, parts), (_, stable, was) = events
    assert len(parts) == 2 and set(parts) <= first and merged in parts and was == [stable]
    assert live == {merged, stable} and retired == set(parts) - {merged}
    section, count = members[merged].most_common(1)[0]
    assert count >= 0.75 * sum(members[merged].values())  # one section's two halves
