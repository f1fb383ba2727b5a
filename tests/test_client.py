"""`python -m deployer ingest-embeddings` and `query` against a real PostgreSQL."""

from __future__ import annotations

import json

import pytest
from hartonomous_ext.policy import MAX_TEXT_CHARS

from conftest import query

LINES = ["A cat sleeps on the warm windowsill.", "", "The central bank raised interest rates.",
         "A B-tree index speeds up range lookups.", "Kittens love to play with string."]


@pytest.fixture
def published(fresh_published):
    """Each test its own database: the resume test counts jobs and atoms from zero."""
    return fresh_published


def test_ingest_a_file_then_query(run, published, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(LINES) + "\n")
    result = run("ingest-embeddings", "--target", published, "--input", corpus, "--batch-size", 2)
    assert result.code == 0, result
    assert "4 atoms ingested" in result.out
    assert query(published, "SELECT Status, TotalItems, AtomsProcessed FROM dbo.IngestionJobs") == [("Completed", 4, 4)]
    assert query(published, "SELECT count(*) FROM dbo.AtomEmbeddings") == [(4,)]

    found = run("query", "--target", published, "--text", "a sleepy kitten", "--top", 2, "--use-spatial", "false",
                "--format", "json")
    assert found.code == 0, found
    rows = json.loads(found.out)
    assert [r["rank"] for r in rows] == [1, 2]
    assert {r["preview"] for r in rows} == {LINES[0], LINES[4]}
    text = run("query", "--target", published, "--text", "interest rates", "--top", 1)
    assert text.code == 0 and "central bank" in text.out


def test_a_stopped_run_resumes_without_counting_twice(run, published, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(LINES) + "\n")
    # a run that died after two items: its job row says so
    query(published, "INSERT INTO dbo.IngestionJobs (JobType, Status, Source, TotalItems, AtomsProcessed, StartTime) "
                     "VALUES ('embeddings', 'Failed', %s, 4, 2, now())", (str(corpus.resolve()),))
    result = run("ingest-embeddings", "--target", published, "--input", corpus)
    assert result.code == 0, result
    assert "2 atoms ingested" in result.out and "resumed after 2" in result.out
    assert query(published, "SELECT count(*) FROM dbo.Atoms") == [(2,)]  # items 3 and 4 only
    assert query(published, "SELECT Status, AtomsProcessed FROM dbo.IngestionJobs") == [("Completed", 4)]


def test_a_folder_is_one_atom_per_file(run, published, tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("first document")
    (folder / "sub" / "b.txt").write_text("second document")
    (folder / "empty.txt").write_text("")
    assert run("ingest-embeddings", "--target", published, "--input", folder).code == 0
    assert query(published, "SELECT Metadata->>'source' FROM dbo.Atoms ORDER BY 1") == [("a.txt",), ("sub/b.txt",)]


def test_a_line_that_is_not_text_is_reported_and_skipped(run, published, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\n\xff\xfe not utf-8\nlast line\n")
    result = run("ingest-embeddings", "--target", published, "--input", bad)
    assert result.code == 0, result
    assert "2 atoms ingested" in result.out and "bad.txt line 2: not UTF-8 text (byte 0)" in result.out
    assert query(published, "SELECT Status, TotalItems, AtomsProcessed FROM dbo.IngestionJobs") == [("Completed", 3, 3)]


def test_a_batch_the_database_refuses_fails_the_job_where_it_stopped(run, published, tmp_path):
    # a line longer than an embedding reads: the database refuses its batch (hartonomous_ext.policy)
    bad = tmp_path / "long.txt"
    bad.write_bytes(b"fine line\n" + b"x" * (MAX_TEXT_CHARS + 1) + b"\n")
    result = run("ingest-embeddings", "--target", published, "--input", bad, "--batch-size", "1")
    assert result.code == 2 and f"more than the {MAX_TEXT_CHARS} an embedding reads" in result.err
    assert query(published, "SELECT Status, AtomsProcessed, ErrorMessage LIKE 'items 2-2: %%item 1: Content has%%' "
                            "FROM dbo.IngestionJobs") == [("Failed", 1, True)]
    assert query(published, "SELECT count(*) FROM dbo.Atoms") == [(1,)]
    assert run("ingest-embeddings", "--target", published, "--input", tmp_path / "missing.txt").code == 2
    assert run("ingest-embeddings", "--target", published, "--input", bad, "--model", "gpt-9").code == 2


def test_a_binary_file_in_a_folder_is_reported_and_skipped(run, published, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("first document")
    (folder / "logo.png").write_bytes(bytes.fromhex("89504e470d0a1a0a0000000d49484452"))
    (folder / "nul.txt").write_bytes(b"text\0with a NUL")
    (folder / "z.txt").write_text("last document")
    result = run("ingest-embeddings", "--target", published, "--input", folder)
    assert result.code == 0, result
    assert "2 atoms ingested" in result.out and "2 skipped" in result.out
    assert "logo.png: not UTF-8 text (byte 0)" in result.out and "nul.txt: not text (it holds NUL bytes)" in result.out
    assert query(published, "SELECT Metadata->>'source' FROM dbo.Atoms ORDER BY 1") == [("a.txt",), ("z.txt",)]
    assert query(published, "SELECT Status, TotalItems, AtomsProcessed FROM dbo.IngestionJobs") == [("Completed", 4, 4)]
