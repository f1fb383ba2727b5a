"""Billing on a real PostgreSQL, called as the roles the deployer creates: metering in the
transaction of the work (dbo.sp_ChargeUsage), quotas that refuse work, a failed call not charged,
concurrent calls that never both pass the last unit, the usage view per tenant and month, and the
monthly archive of the ledger. Tenant 1 is on a rate plan with quotas, tenant 2 on none (metered,
free), tenant 3 on a plan whose search quota is small.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from decimal import Decimal

import psycopg
import pytest

from conftest import publish_with_logins

LOGINS = {"alice": ("app", [1]), "bob": ("app", [2]), "carol": ("app", [3]), "rita": ("reader", [1]),
          "loop": ("system", [])}
SEARCH = "SELECT count(*) FROM dbo.sp_SemanticSearch(query_text => %s, top_k => 3)"


def _plans_and_atoms(conn) -> None:
    """Tenant 1 on 'standard', tenant 3 on 'trial', tenant 2 on none; one atom each, not charged."""
    conn.execute("""
        INSERT INTO dbo.BillingRatePlans (PlanName, Currency) VALUES ('standard', 'EUR'), ('trial', 'EUR');
        INSERT INTO dbo.BillingRates (RatePlanId, Operation, UnitRate, MonthlyQuotaUnits)
        SELECT p.RatePlanId, r.Operation, r.UnitRate, r.Quota
        FROM dbo.BillingRatePlans p
        JOIN (VALUES ('standard', 'search', 0.002, 1000), ('standard', 'embedding', 0.0001, NULL),
                     ('standard', 'ingested_byte', 0.000001, 1000000),
                     ('trial', 'search', 0, 2), ('trial', 'embedding', 0, NULL)) AS r(PlanName, Operation, UnitRate, Quota)
          ON r.PlanName = p.PlanName;
        INSERT INTO dbo.BillingAccounts (TenantId, RatePlanId)
        SELECT 1, RatePlanId FROM dbo.BillingRatePlans WHERE PlanName = 'standard'
        UNION ALL SELECT 3, RatePlanId FROM dbo.BillingRatePlans WHERE PlanName = 'trial';
        """)
    for tenant in (1, 2, 3):
        conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', TenantId => %s, GenerateEmbedding => 1)",
                     (f"tenant {tenant}'s note about apples".encode(), tenant))
    conn.execute("DELETE FROM dbo.BillingUsagePeriods; DELETE FROM dbo.BillingUsageLedger_InMemory")


@pytest.fixture(scope="module")
def billing(pg_instance, tmp_path_factory):
    """A fresh publish, the logins above, two rate plans."""
    return publish_with_logins(pg_instance, tmp_path_factory.mktemp("logs"), "billing", LOGINS, _plans_and_atoms)


@pytest.fixture
def session(billing, open_login):
    return lambda name: open_login(billing["url"], billing["logins"][name])


def admin_rows(billing, query: str, *params) -> list[tuple]:
    with psycopg.connect(billing["url"], autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def usage(billing, tenant: int) -> dict[str, tuple]:
    """The month's counters of a tenant: operation -> (units, calls, cost)."""
    return {op: (units, calls, cost) for op, units, calls, cost in admin_rows(
        billing, "SELECT Operation, Units, Calls, Cost FROM dbo.BillingUsagePeriods WHERE TenantId = %s "
                 "AND PeriodStart = date_trunc('month', now() AT TIME ZONE 'UTC')::date", tenant)}


def ledger(billing, tenant: int) -> dict[str, tuple]:
    """The tenant's line items summed: operation -> (units, line items, cost)."""
    return {op: (units, items, cost) for op, units, items, cost in admin_rows(
        billing, "SELECT Operation, sum(Units), count(*), sum(TotalCost) FROM dbo.BillingUsageLedger_InMemory "
                 "WHERE TenantId = %s GROUP BY Operation", tenant)}


def requests(billing, tenant: int) -> int:
    return admin_rows(billing, "SELECT count(*) FROM dbo.InferenceRequests WHERE TenantId = %s", tenant)[0][0]


def test_the_work_an_app_login_does_is_charged_to_its_tenant_at_its_plans_rates(session, billing):
    alice = session("alice")
    first, second = b"alice's first document", "alice's second document, a little longer".encode()
    alice.rows("CALL dbo.sp_IngestAtom(%s, 'text/plain', GenerateEmbedding => 1)", first)
    batch = [{"content": base64.b64encode(text).decode(), "contentType": "text/plain"} for text in (second, first)]
    alice.rows("SELECT * FROM dbo.sp_IngestAtoms(%s, GenerateEmbedding => true)", json.dumps(batch))
    assert alice.rows(SEARCH, "documents")[0][0] >= 1
    alice.rows("SELECT count(*) FROM dbo.sp_SemanticSearch(query_embedding => %s, top_k => 3)",
               "[" + ", ".join(["0.05"] * 384) + "]")
    alice.rows("CALL dbo.sp_GenerateEmbedding('just a vector')")

    # new bytes only (the repeated document was stored already); every embedding computed:
    # sp_IngestAtom 1, sp_IngestAtoms 1 (the stored one has its embedding), the text search 1, the
    # explicit one 1; two searches
    new_bytes = len(first) + len(second)
    assert usage(billing, 1) == {
        "ingested_byte": (new_bytes, 2, Decimal("0.000001") * new_bytes),
        "embedding": (4, 4, Decimal("0.0004")),
        "search": (2, 2, Decimal("0.004")),
    }
    # every charge is a line item, at the rate of its moment, by the login that called
    assert ledger(billing, 1) == {op: (units, calls, cost) for op, (units, calls, cost) in usage(billing, 1).items()}
    assert admin_rows(billing, "SELECT DISTINCT PrincipalId FROM dbo.BillingUsageLedger_InMemory WHERE TenantId = 1") == [
        (billing["logins"]["alice"],)]
    assert admin_rows(billing, "SELECT DISTINCT Source FROM dbo.BillingUsageLedger_InMemory WHERE TenantId = 1 "
                               "ORDER BY 1") == [("sp_GenerateEmbedding",), ("sp_IngestAtom",), ("sp_IngestAtoms",),
                                                 ("sp_SemanticSearch",)]


def test_a_tenant_without_a_plan_is_metered_free_and_without_quotas(session, billing):
    bob = session("bob")
    for _ in range(3):
        bob.rows(SEARCH, "apples")
    assert usage(billing, 2)["search"] == (3, 3, Decimal(0))


def test_a_quota_refuses_work_before_doing_it(session, billing):
    carol = session("carol")
    before = requests(billing, 3)
    carol.rows(SEARCH, "apples")
    carol.rows(SEARCH, "apples")
    error = carol.error(SEARCH, "apples")
    assert error.sqlstate == "53400"
    assert str(error).startswith("sp_SemanticSearch: tenant 3 has 0 of its monthly quota of 2 search units left; "
                                 "this call needs 1")
    # the refused call did nothing: no request recorded, nothing charged, not even its query's embedding
    assert requests(billing, 3) == before + 2
    assert usage(billing, 3) == {"search": (2, 2, Decimal(0)), "embedding": (2, 2, Decimal(0))}
    # a search by vector is refused the same way; other operations go on
    assert carol.error("SELECT * FROM dbo.sp_SemanticSearch(query_embedding => '[1, 0, 0]')").sqlstate == "53400"
    carol.rows("CALL dbo.sp_GenerateEmbedding('still allowed')")
    assert usage(billing, 3)["embedding"] == (3, 3, Decimal(0))


def test_a_failed_call_is_not_charged(session, billing):
    alice = session("alice")
    before = usage(billing, 1)
    assert alice.error(SEARCH.replace("top_k => 3", "top_k => 0"), "x").sqlstate == "22023"
    assert alice.error("SELECT * FROM dbo.sp_IngestAtoms(%s, GenerateEmbedding => true)",
                       '[{"content": "aGVsbG8=", "contentType": "text/plain"}, {"content": 5}]').sqlstate == "22023"
    assert alice.error("CALL dbo.sp_IngestAtom(%s, 'no/such type at all')", b"bytes").sqlstate == "22023"
    assert usage(billing, 1) == before


def test_the_last_unit_goes_to_one_of_two_concurrent_calls_and_the_other_is_undone(session, billing):
    """Both calls pass the check before the work; the first holds the counter's row until it commits;
    the second charges after it, finds the quota spent, and everything it did rolls back."""
    with psycopg.connect(billing["url"], autocommit=True) as conn:
        conn.execute("INSERT INTO dbo.BillingAccounts (TenantId, RatePlanId) "
                     "SELECT 4, RatePlanId FROM dbo.BillingRatePlans WHERE PlanName = 'trial'")
        conn.execute("CALL dbo.sp_IngestAtom('tenant four''s apples', 'text/plain', TenantId => 4, GenerateEmbedding => 1)")
        conn.execute("SELECT * FROM dbo.sp_SemanticSearch(query_text => 'apples', TenantId => 4)")  # 1 of 2 used
    first = psycopg.connect(billing["url"])  # a transaction left open: the superuser acting for tenant 4
    second = psycopg.connect(billing["url"], autocommit=True)
    outcome = {}
    try:
        first.execute("SELECT * FROM dbo.sp_SemanticSearch(query_text => 'apples', TenantId => 4)").fetchall()
        second_pid = second.info.backend_pid

        def run_second():
            try:
                second.execute("SELECT * FROM dbo.sp_SemanticSearch(query_text => 'pears', TenantId => 4)").fetchall()
                outcome["second"] = "served"
            except psycopg.Error as exc:
                outcome["second"] = exc

        thread = threading.Thread(target=run_second)
        thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and admin_rows(
                billing, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                second_pid)[0][0] == 0:
            time.sleep(0.05)
        assert thread.is_alive(), outcome  # it got past the check and waits on the counter's row
        first.commit()
        thread.join(60)
    finally:
        first.close()
        second.close()
    assert isinstance(outcome["second"], psycopg.Error) and outcome["second"].sqlstate == "53400"
    assert usage(billing, 4)["search"] == (2, 2, Decimal(0))
    # the second call's request was rolled back with its charge
    assert admin_rows(billing, "SELECT Parameters->>'query_text' FROM dbo.InferenceRequests WHERE TenantId = 4 "
                               "ORDER BY RequestId") == [("apples",), ("apples",)]


def test_a_reader_sees_its_tenants_usage_through_the_view_only(session, billing):
    rita, alice = session("rita"), session("alice")
    rows = rita.rows("SELECT TenantId, Operation, Units, Cost, Currency, PlanName, MonthlyQuotaUnits, RemainingUnits "
                     "FROM dbo.vw_BillingUsage ORDER BY Operation")
    assert {r[0] for r in rows} == {1}
    search = next(r for r in rows if r[1] == "search")
    units = usage(billing, 1)["search"][0]
    assert search[2:] == (units, Decimal("0.002") * units, "EUR", "standard", 1000, 1000 - units)
    assert next(r for r in rows if r[1] == "embedding")[6:] == (None, None)  # no quota
    for who in (rita, alice):
        for table in ("dbo.BillingUsageLedger_InMemory", "dbo.BillingUsageLedger", "dbo.BillingRatePlans",
                      "dbo.BillingRates", "dbo.BillingUsagePeriods"):
            assert who.error(f"SELECT * FROM {table}").sqlstate == "42501"
    assert alice.error("SELECT * FROM dbo.vw_BillingUsage").sqlstate == "42501"
    assert alice.error("CALL dbo.sp_ChargeUsage(1, 'search', -5, 'forged')").sqlstate == "42501"
    assert rita.error("UPDATE dbo.BillingUsagePeriods SET Units = 0").sqlstate == "42501"


def test_the_seeds_ledger_insert_runs_as_written_and_the_archive_moves_closed_months(session, billing):
    # seed 003, "In-Memory OLTP for Billing", with its parameters as values
    with psycopg.connect(billing["url"], autocommit=True) as conn:
        conn.execute("""
            INSERT INTO dbo.BillingUsageLedger_InMemory (
                TenantId, PrincipalId, Operation, Units, BaseRate, TotalCost
            )
            VALUES (
                2, 'billing-correction', 'search', 1, 0.5, 0.5
            );""")
        conn.execute("INSERT INTO dbo.BillingUsageLedger_InMemory (TenantId, PrincipalId, Operation, Units, BaseRate, "
                     "TotalCost, RecordedAt) VALUES (2, 'last month', 'search', 7, 0.1, 0.7, "
                     "date_trunc('month', now()) - interval '3 days')")
        current = conn.execute("SELECT count(*) FROM dbo.BillingUsageLedger_InMemory").fetchone()[0]
    loop, alice = session("loop"), session("alice")
    assert alice.error("SELECT * FROM dbo.sp_ArchiveBillingUsage()").sqlstate == "42501"
    error = loop.error("SELECT * FROM dbo.sp_ArchiveBillingUsage(%s::date)", "2999-01-01")
    assert error.sqlstate == "22023" and "the current month stays" in str(error)
    assert loop.rows("SELECT * FROM dbo.sp_ArchiveBillingUsage()") == [(1,)]
    assert admin_rows(billing, "SELECT PrincipalId, Units, TotalCost FROM dbo.BillingUsageLedger") == [
        ("last month", 7, Decimal("0.7"))]
    assert admin_rows(billing, "SELECT count(*) FROM dbo.BillingUsageLedger_InMemory")[0][0] == current - 1
    assert loop.rows("SELECT * FROM dbo.sp_ArchiveBillingUsage()") == [(0,)]  # nothing twice
