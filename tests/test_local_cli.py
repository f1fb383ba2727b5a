"""`python -m deployer local status|up|down` against the test run's own instance."""

from __future__ import annotations

import psycopg


def _point_at(monkeypatch, instance):
    monkeypatch.setenv("HARTONOMOUS_HOME", str(instance.home))
    monkeypatch.setenv("HARTONOMOUS_LOCAL_PORT", str(instance.port))


def test_status_url_prints_only_a_usable_url(run, pg_instance, monkeypatch):
    _point_at(monkeypatch, pg_instance)
    result = run("local", "status", "--url")
    assert result.code == 0, result
    url = result.out.strip()
    assert "\n" not in url and url.startswith("postgresql:///")
    pg_instance.create_database("hartonomous")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "hartonomous"


def test_status_shows_state_data_directory_and_url(run, pg_instance, monkeypatch):
    _point_at(monkeypatch, pg_instance)
    result = run("local", "status")
    assert result.code == 0, result
    assert "running" in result.out and str(pg_instance.data_dir) in result.out and "url:" in result.out


def test_status_of_a_stopped_engine(run, tmp_path, monkeypatch):
    monkeypatch.setenv("HARTONOMOUS_HOME", str(tmp_path))
    result = run("local", "status", "--url")
    assert result.code == 1 and result.out == ""
    assert "not initialised" in run("local", "status").out


def test_publish_without_target_needs_a_running_local_engine(run, tmp_path, monkeypatch):
    monkeypatch.setenv("HARTONOMOUS_HOME", str(tmp_path))
    result = run("publish")
    assert result.code == 2
    assert "local engine is not running" in result.err and "local up" in result.err


def test_publish_without_target_uses_the_local_engine(run, pg_instance, monkeypatch, tmp_path):
    _point_at(monkeypatch, pg_instance)
    pg_instance.create_database("hartonomous")
    result = run("publish", "--log-dir", tmp_path)
    assert result.code == 0, result
    assert f"host={pg_instance.socket_dir}" not in result.out  # the label, not the raw URL
    assert "Published" in result.out
