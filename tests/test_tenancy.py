"""Tenants that cannot see each other (PostgreSQL): the session's tenant, row-level security, the
roles the deployer creates, and `python -m deployer grant`.

Logins here are cluster roles with LOGIN. The test instance accepts only peer authentication on its
socket, so a "session of a login" is a superuser connection that switched with SET SESSION
AUTHORIZATION: session_user and current_user are then the login, and every privilege and policy is
checked as the login's.
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg import sql

from conftest import latest_log, publish_with_logins

LOGINS = {"alice": ("app", [1]), "bob": ("app", [2]), "svc": ("app", [1, 2]), "boss": ("admin", []),
          "rita": ("reader", [1]), "nobody": (None, [])}


def _two_tenants_atoms(conn) -> None:
    for tenant, texts in ((1, ["tenant one's apples", "tenant one's pears"]), (2, ["tenant two's secret plan"])):
        for text in texts:
            conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', TenantId => %s, GenerateEmbedding => 1)",
                         (text.encode(), tenant))


@pytest.fixture(scope="module")
def tenancy(pg_instance, tmp_path_factory):
    """A fresh publish, two tenants' atoms written by the superuser, and the logins above granted."""
    return publish_with_logins(pg_instance, tmp_path_factory.mktemp("logs"), "tenancy", LOGINS, _two_tenants_atoms)


@pytest.fixture
def session(tenancy, open_login):
    return lambda name: open_login(tenancy["url"], tenancy["logins"][name])


def atom_texts(rows) -> set[str]:
    return {r[0] for r in rows}


SEARCH = "SELECT Preview FROM dbo.sp_SemanticSearch(query_text => 'fruit and plans', top_k => 10{})"


def test_an_app_login_searches_its_own_tenant_only(session):
    alice, bob = session("alice"), session("bob")
    assert atom_texts(alice.rows(SEARCH.format(""))) == {"tenant one's apples", "tenant one's pears"}
    assert atom_texts(bob.rows(SEARCH.format(""))) == {"tenant two's secret plan"}
    # naming its own tenant is the same call
    assert atom_texts(alice.rows(SEARCH.format(", TenantId => 1"))) == {"tenant one's apples", "tenant one's pears"}


def test_a_forged_tenant_is_refused_not_served(session, tenancy):
    alice = session("alice")
    error = alice.error(SEARCH.format(", TenantId => 2"))
    assert error.sqlstate == "42501"
    assert "sp_SemanticSearch: tenant 2 is not this session's tenant" in str(error)
    error = alice.error("CALL dbo.sp_IngestAtom(%s, 'text/plain', TenantId => 2)", b"planted in tenant two")
    assert "sp_IngestAtom: tenant 2 is not this session's tenant" in str(error)
    with psycopg.connect(tenancy["url"]) as admin:
        assert admin.execute("SELECT count(*) FROM dbo.Atoms WHERE TenantId = 2").fetchone()[0] == 1


def test_an_app_login_writes_into_its_tenant(session, tenancy):
    bob = session("bob")
    (atom,) = bob.rows("CALL dbo.sp_IngestAtom(%s, 'text/plain')", b"bob's new note")[0]
    with psycopg.connect(tenancy["url"]) as admin:
        assert admin.execute("SELECT TenantId FROM dbo.Atoms WHERE AtomId = %s", (atom,)).fetchone() == (2,)


def test_an_app_login_has_no_table_privileges(session):
    alice = session("alice")
    for statement in ("SELECT * FROM dbo.Atoms", "DELETE FROM dbo.Atoms", "SELECT * FROM dbo.TenantPrincipals",
                      "INSERT INTO dbo.SessionTenants VALUES (pg_backend_pid(), now(), current_user, 2)",
                      "SELECT * FROM dbo.TensorChunks", "SELECT dbo.fn_LoadExternalLibrary()"):
        assert alice.error(statement).sqlstate == "42501", statement


def test_a_reader_sees_its_tenants_rows_and_cannot_write(session):
    rita = session("rita")
    assert {r[0] for r in rita.rows("SELECT TenantId FROM dbo.Atoms")} == {1}
    assert rita.rows("SELECT sum(EmbeddingCount) FROM dbo.vw_EmbeddingCountsByType") == [(2,)]
    assert rita.rows("SELECT count(*) FROM dbo.AtomEmbeddings") == [(2,)]
    assert rita.rows("SELECT TotalEmbeddings FROM dbo.vw_SpatialProjectionCoverage") == [(2,)]
    for statement in ("UPDATE dbo.Atoms SET ReferenceCount = 0", "DELETE FROM dbo.Atoms",
                      "INSERT INTO dbo.IngestionJobs (JobType, TenantId) VALUES ('x', 2)"):
        assert rita.error(statement).sqlstate == "42501", statement
    assert rita.error("CALL dbo.sp_IngestAtom(%s, 'text/plain')", b"x").sqlstate == "42501"


def test_an_admin_sees_every_tenant(session):
    boss = session("boss")
    assert {r[0] for r in boss.rows("SELECT TenantId FROM dbo.Atoms")} >= {1, 2}
    assert atom_texts(boss.rows(SEARCH.format(", TenantId => 2"))) >= {"tenant two's secret plan"}


def test_a_login_serving_several_tenants_chooses_one_per_session_once(session):
    svc = session("svc")
    error = svc.error(SEARCH.format(""))
    assert "sp_SemanticSearch: this session acts for no tenant" in str(error)
    # a session variable is no way in: the choice is a row only sp_SetSessionTenant writes
    svc.rows("SET hartonomous.tenant_id = 2")
    assert svc.error(SEARCH.format("")).sqlstate == "42501"
    svc.rows("CALL dbo.sp_SetSessionTenant(2)")
    assert atom_texts(svc.rows(SEARCH.format(""))) == {"tenant two's secret plan"}
    svc.rows("CALL dbo.sp_SetSessionTenant(2)")  # the same again: allowed
    error = svc.error("CALL dbo.sp_SetSessionTenant(1)")
    assert "this session already acts for tenant 2" in str(error)
    assert atom_texts(svc.rows(SEARCH.format(""))) == {"tenant two's secret plan"}
    # another session of the same login chooses on its own
    other = session("svc")
    other.rows("CALL dbo.sp_SetSessionTenant(1)")
    assert atom_texts(other.rows(SEARCH.format(""))) == {"tenant one's apples", "tenant one's pears"}


def test_a_login_cannot_choose_a_tenant_it_is_not_mapped_to(session):
    alice = session("alice")
    error = alice.error("CALL dbo.sp_SetSessionTenant(2)")
    assert error.sqlstate == "42501" and "may not act for tenant 2" in str(error)


def test_a_login_without_a_role_can_do_nothing(session, tenancy):
    nobody = session("nobody")
    assert nobody.error(SEARCH.format("")).sqlstate == "42501"
    assert nobody.error("SELECT * FROM dbo.Atoms").sqlstate == "42501"
    with psycopg.connect(tenancy["url"]) as admin:
        login = tenancy["logins"]["nobody"]
        assert admin.execute("SELECT has_database_privilege(%s, current_database(), 'CONNECT')",
                             (login,)).fetchone() == (False,)


def test_revoking_a_tenant_ends_access(session, run, tenancy):
    url, login = tenancy["url"], tenancy["logins"]["bob"]
    assert run("grant", "--target", url, "--login", login, "--role", "app", "--revoke", "--tenant", "2").code == 0
    bob = session("bob")
    assert "acts for no tenant" in str(bob.error(SEARCH.format("")))
    assert run("grant", "--target", url, "--login", login, "--role", "app", "--tenant", "2").code == 0
    assert atom_texts(session("bob").rows(SEARCH.format(""))) >= {"tenant two's secret plan"}


def test_grant_refuses_an_unknown_login_and_an_app_without_tenant(run, tenancy):
    result = run("grant", "--target", tenancy["url"], "--login", "no_such_login_x", "--role", "app", "--tenant", "1")
    assert result.code == 2 and "there is no login role 'no_such_login_x'" in result.err
    result = run("grant", "--target", tenancy["url"], "--login", tenancy["logins"]["alice"], "--role", "app")
    assert result.code == 2 and "give --tenant" in result.out


def test_roles_belong_to_their_database(pg_instance, run, tenancy, tmp_path):
    other = pg_instance.create_database(f"tenancy_other_{uuid.uuid4().hex[:6]}")
    assert run("publish", "--target", other, "--log-dir", tmp_path).code == 0
    with psycopg.connect(other) as conn:
        database = conn.execute("SELECT current_database()").fetchone()[0]
        roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                                            (database + "\\_%",))}
        assert roles == {f"{database}_{k}" for k in ("admin", "app", "reader", "system")}
        alice = tenancy["logins"]["alice"]  # an app login of the first database only
        assert conn.execute("SELECT has_database_privilege(%s, current_database(), 'CONNECT')",
                            (alice,)).fetchone() == (False,)


def test_a_privilege_granted_by_hand_is_drift_and_a_publish_takes_it_back(run, tenancy):
    url, database = tenancy["url"], tenancy["database"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT SELECT ON dbo.TenantPrincipals TO {}").format(sql.Identifier(database + "_app")))
    result = run("drift", "--target", url)
    assert result.code == 1 and "RolePermissions" in result.out
    assert run("publish", "--target", url, "--allow-drift", "--log-dir", tenancy["logs"]).code == 0
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT has_table_privilege(%s, 'dbo.TenantPrincipals', 'SELECT')",
                            (database + "_app",)).fetchone() == (False,)
    assert run("drift", "--target", url).code == 0


# --------------------------------------------------------------------------------------------
# SQL Server's row-level security, read from the rendered package (DBA review findings)

def _mssql(name: str) -> str:
    from deployer.package import render_package

    return next(r.sql for r in render_package("mssql") if r.obj.name == name)


def test_no_security_predicate_on_a_filestream_table():
    # SQL Server refuses security predicates on a table with FILESTREAM data (error 33501)
    from deployer.package import render_package

    rendered = render_package("mssql")
    filestream = {r.obj.name for r in rendered if r.obj.kind == "table" and "FILESTREAM" in r.sql.upper()}
    assert "dbo.AtomPayloadStore" in filestream
    policy = _mssql("dbo.TenantAccessPolicy")
    assert [t for t in filestream if f"ON {t}\n" in policy or f"ON {t} " in policy or f"ON {t}," in policy] == []


def test_a_dropped_security_policy_fails_closed_until_the_grants_are_made_again():
    # each object that drops the policy to alter a schema-bound function denies the tenant roles
    # first; RolePermissions (re-applied after every change) revokes every DENY
    from deployer.package import render_package

    for r in render_package("mssql", database_name="Shop"):
        if "DROP SECURITY POLICY" not in r.sql or r.obj.name == "dbo.TenantAccessPolicy":
            continue
        deny = r.sql.find("DENY SELECT ON SCHEMA::dbo TO [Shop_reader]")
        assert 0 <= deny < r.sql.find("DROP SECURITY POLICY"), r.obj.name
        assert r.sql.find("DENY EXECUTE ON SCHEMA::dbo TO [Shop_app]") < r.sql.find("DROP SECURITY POLICY"), r.obj.name
    grants = _mssql("RolePermissions")
    assert "p.class IN (0, 1, 3)" in grants and "WHEN 3 THEN CONCAT(N' ON SCHEMA::'" in grants


def test_a_script_input_query_reads_no_table_of_dbo():
    # sp_execute_external_script's @input_data_1 runs as the caller, outside the ownership chain
    from deployer.package import render_package
    from tools.tsql_gate.rules import external_input_reads_tables

    for r in render_package("mssql"):
        assert external_input_reads_tables(r.sql) == [], r.obj.name


def test_a_tenant_taken_away_mid_session_is_no_tenant_not_another(session, run, tenancy):
    url, login = tenancy["url"], tenancy["logins"]["svc"]
    svc = session("svc")
    svc.rows("CALL dbo.sp_SetSessionTenant(2)")
    assert run("grant", "--target", url, "--login", login, "--role", "app", "--revoke", "--tenant", "2").code == 0
    try:
        # mapped to tenant 1 alone now, but this session chose 2: it acts for none, never for 1
        assert "acts for no tenant" in str(svc.error(SEARCH.format("")))
    finally:
        assert run("grant", "--target", url, "--login", login, "--role", "app", "--tenant", "2").code == 0


def test_a_suspended_tenant_is_refused_to_its_users_not_to_administrators(session, tenancy):
    with psycopg.connect(tenancy["url"], autocommit=True) as admin:
        admin.execute("INSERT INTO dbo.TenantSecurityPolicy (TenantId, TenantName, IsActive) VALUES (2, 'two', false)")
        try:
            error = session("bob").error(SEARCH.format(""))
            assert error.sqlstate == "42501" and "sp_SemanticSearch: tenant 2 is suspended" in str(error)
            assert atom_texts(session("boss").rows(SEARCH.format(", TenantId => 2"))) >= {"tenant two's secret plan"}
            # the seed's own query, as written
            assert admin.execute("SELECT * FROM dbo.TenantSecurityPolicy WHERE TenantId = %s AND IsActive = true",
                                 (2,)).fetchall() == []
        finally:
            admin.execute("DELETE FROM dbo.TenantSecurityPolicy WHERE TenantId = 2")
    assert atom_texts(session("bob").rows(SEARCH.format(""))) >= {"tenant two's secret plan"}


def test_a_tenants_limits_refuse_what_exceeds_them(session, tenancy):
    # dbo.TenantSecurityPolicy: ingest size per call, generation allowed, tokens per call
    with psycopg.connect(tenancy["url"], autocommit=True) as admin:
        admin.execute("INSERT INTO dbo.TenantSecurityPolicy (TenantId, MaxIngestBytes, AllowGeneration, MaxTokensPerCall) "
                      "VALUES (1, 10, true, 8)")
        try:
            alice = session("alice")
            error = alice.error("CALL dbo.sp_IngestAtom(%s, 'text/plain')", b"eleven byte")
            assert error.sqlstate == "54000"
            assert "sp_IngestAtom: Content has 11 bytes, more than tenant 1's 10 (dbo.TenantSecurityPolicy)" in str(error)
            batch = '[{"content": "c2l4c2l4", "contentType": "text/plain"}, {"content": "c2l4c2l4", "contentType": "text/plain"}]'
            error = alice.error("SELECT * FROM dbo.sp_IngestAtoms(%s)", batch)
            assert "sp_IngestAtoms: the batch holds 12 bytes, more than tenant 1's 10" in str(error)
            assert alice.rows("CALL dbo.sp_IngestAtom(%s, 'text/plain')", b"ten bytes!")[0][0] > 0
            error = alice.error("SELECT * FROM dbo.sp_GenerateText('hello', max_tokens => 16, ModelIds => '1')")
            assert error.sqlstate == "54000"
            assert "sp_GenerateText: max_tokens 16 is more than tenant 1's 8 (dbo.TenantSecurityPolicy)" in str(error)
            # DBA review: the prompt is stored as an atom (the provenance graph): one longer than the tenant's
            # MaxIngestBytes is refused before the model runs, not by sp_StoreAtom after it
            error = alice.error("SELECT * FROM dbo.sp_GenerateText('a prompt too long', max_tokens => 4, ModelIds => '1')")
            assert error.sqlstate == "54000"
            assert ("sp_GenerateText: the prompt has 17 bytes (UTF-8), more than tenant 1's 10 (dbo.TenantSecurityPolicy)"
                    in str(error))
            admin.execute("UPDATE dbo.TenantSecurityPolicy SET AllowGeneration = false WHERE TenantId = 1")
            error = alice.error("SELECT * FROM dbo.sp_GenerateText('hello', max_tokens => 4, ModelIds => '1')")
            assert error.sqlstate == "42501"
            assert "sp_GenerateText: tenant 1 may not generate text (dbo.TenantSecurityPolicy)" in str(error)
            # nothing of the refused calls was written
            assert admin.execute("SELECT count(*) FROM dbo.Atoms WHERE ContentHash IN (sha256('eleven byte'), "
                                 "sha256('sixsix'))").fetchone() == (0,)
        finally:
            admin.execute("DELETE FROM dbo.TenantSecurityPolicy WHERE TenantId = 1")


def test_a_suspended_tenants_reader_sees_nothing(session, tenancy):
    rita = session("rita")
    assert rita.rows("SELECT count(*) FROM dbo.Atoms")[0][0] >= 2
    with psycopg.connect(tenancy["url"], autocommit=True) as admin:
        admin.execute("INSERT INTO dbo.TenantSecurityPolicy (TenantId, IsActive) VALUES (1, false)")
        try:
            assert session("rita").rows("SELECT count(*) FROM dbo.Atoms") == [(0,)]
            assert session("rita").rows("SELECT count(*) FROM dbo.vw_EmbeddingCountsByType") == [(0,)]
        finally:
            admin.execute("DELETE FROM dbo.TenantSecurityPolicy WHERE TenantId = 1")
    assert session("rita").rows("SELECT count(*) FROM dbo.Atoms")[0][0] >= 2


def test_generated_text_is_written_in_one_transaction_on_sql_server():
    # DBA review: the text is stored through sp_StoreAtom, within the tenant's MaxIngestBytes; a
    # refusal there must not leave the request row behind (PostgreSQL's function is one transaction),
    # and the tokens are charged in the same transaction
    text = _mssql("dbo.sp_GenerateText")
    assert "SET XACT_ABORT ON;" in text
    begin, commit = text.index("BEGIN TRANSACTION;"), text.index("COMMIT TRANSACTION;")
    assert begin < text.index("INSERT INTO dbo.InferenceRequests") < text.index("EXEC dbo.sp_StoreAtom") \
        < text.index("INSERT INTO dbo.GenerationStreams") < text.index("@Operation = 'generated_token', @Units = @TokenCount") \
        < commit
    assert text.index("sp_execute_external_script") < begin  # the Python runs outside it


def test_a_login_named_like_a_database_role_is_refused_not_altered(pg_instance, run, tmp_path):
    database = f"tenancy_clash_{uuid.uuid4().hex[:6]}"
    url = pg_instance.create_database(database)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(database + "_app")))
    result = run("publish", "--target", url, "--log-dir", tmp_path)
    assert result.code == 1
    assert "a login of that name exists on this server" in json.dumps(latest_log(tmp_path, "error"))
    with psycopg.connect(url) as conn:  # still the login it was
        assert conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (database + "_app",)).fetchone() == (True,)
