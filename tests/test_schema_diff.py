"""Table changes rendered for SQL Server pass the T-SQL gate (no server needed).

On PostgreSQL the scenarios (test_scenarios.py) execute them; on SQL Server the live suite does,
and this test makes sure every kind of operation the plan can emit is valid T-SQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mssql, postgresql
from alembic.operations import ops

from deployer.engines.mssql.dialect import split_batches
from deployer.engines.schema import render_operations
from deployer.target.schema_diff import _preparing_ops
from tools.tsql_gate.parse import parse_problems

MSSQL = mssql.dialect()


def test_every_table_operation_renders_to_valid_tsql():
    narrow = ops.AlterColumnOp("IngestionJobs", "Source", modify_type=sa.Unicode(16), existing_type=sa.UnicodeText(),
                               existing_nullable=True, schema="dbo")
    not_null = ops.AlterColumnOp("IngestionJobs", "Status", modify_nullable=False, existing_type=sa.Unicode(16),
                                 existing_server_default=sa.DefaultClause(sa.text("N'Pending'")), schema="dbo")
    drop = ops.DropColumnOp("Atoms", "Legacy", schema="dbo")
    drop.kw.update(mssql_drop_default=True, mssql_drop_check=True, mssql_drop_foreign_key=True)
    operations = [
        ops.AddColumnOp("Atoms", sa.Column("Summary", sa.Unicode(200), nullable=True), schema="dbo"),
        drop,
        *_preparing_ops(narrow, "dbo", "IngestionJobs", MSSQL), narrow,
        *_preparing_ops(not_null, "dbo", "IngestionJobs", MSSQL), not_null,
        ops.CreateIndexOp("IX_Atoms_Summary", "Atoms", ["Summary"], schema="dbo"),
        ops.DropIndexOp("IX_Old", "Atoms", schema="dbo"),
        ops.CreateCheckConstraintOp("CK_Atoms_X", "Atoms", sa.text("ContentSize >= 0"), schema="dbo"),
        ops.DropConstraintOp("CK_Atoms_Y", "Atoms", type_="check", schema="dbo"),
        ops.CreateForeignKeyOp("FK_X", "ModelLayers", "Models", ["ModelId"], ["ModelId"],
                               source_schema="dbo", referent_schema="dbo"),
        ops.AlterColumnOp("IngestionJobs", "JobId", modify_name="IngestionJobId", existing_type=sa.BigInteger(),
                          schema="dbo"),
    ]
    script = render_operations(operations, "mssql")
    # a column the table's '-- renamed:' header declares is renamed in place, keeping its values
    assert "EXEC sp_rename 'dbo.[IngestionJobs].[JobId]', [IngestionJobId], 'COLUMN'" in script
    assert "LEFT([Source], 16) WHERE LEN([Source]) > 16" in script
    assert "SET [Status] = N'Pending' WHERE [Status] IS NULL" in script
    batches = split_batches(script)
    assert len(batches) >= len(operations)
    problems = {batch: parse_problems(batch) for batch in batches}
    assert {b: p for b, p in problems.items() if p} == {}


def test_postgresql_narrowing_and_not_null_preparation():
    pg = postgresql.dialect()
    narrow = ops.AlterColumnOp("ingestionjobs", "source", modify_type=sa.String(16), existing_type=sa.Text(),
                               schema="dbo")
    assert [o.sqltext for o in _preparing_ops(narrow, "dbo", "ingestionjobs", pg)] == [
        "UPDATE dbo.ingestionjobs SET source = left(source, 16) WHERE length(source) > 16"]
    widen = ops.AlterColumnOp("ingestionjobs", "source", modify_type=sa.Text(), existing_type=sa.String(16),
                              schema="dbo")
    assert _preparing_ops(widen, "dbo", "ingestionjobs", pg) == []
    no_default = ops.AlterColumnOp("ingestionjobs", "source", modify_nullable=False, schema="dbo")
    assert _preparing_ops(no_default, "dbo", "ingestionjobs", pg) == []


def test_loss_counts_do_not_overflow_on_sql_server():
    """SQL Server's COUNT(*) is an INT: a table past 2^31 rows would fail the plan (error 8115)."""
    from deployer.target.schema_diff import _changes_for

    drop = ops.DropColumnOp("Atoms", "Legacy", schema="dbo")
    (mssql_change,) = _changes_for(drop, "dbo", "Atoms", MSSQL)
    (pg_change,) = _changes_for(ops.DropColumnOp("atoms", "legacy", schema="dbo"), "dbo", "atoms",
                                postgresql.dialect())
    assert mssql_change.loss_query == "SELECT COUNT_BIG(*) FROM dbo.[Atoms] WHERE [Legacy] IS NOT NULL"
    assert pg_change.loss_query == "SELECT count(*) FROM dbo.atoms WHERE legacy IS NOT NULL"
    assert parse_problems(mssql_change.loss_query) == ()


def test_renamed_columns_are_compared_as_the_package_spells_them():
    # SQL Server keeps a column's case: the live keys and CHECKs must read as the package writes them
    # after the rename, or the plan drops and re-creates what it need not touch (review finding)
    from deployer.target.schema_diff import _as_renamed, _declared_renames

    live = {"primary_key": {"name": "PK_IngestionJobs", "columns": ["JobId"]},
            "indexes": [{"name": "IX_Jobs_Start", "columns": ["StartedAt", "Status"], "include": ["CompletedAt"]}],
            "unique": [], "foreign_keys": []}
    assert _as_renamed(live, {"jobid": "IngestionJobId", "startedat": "StartTime", "completedat": "EndTime"}) == {
        "primary_key": {"name": "PK_IngestionJobs", "columns": ["IngestionJobId"]},
        "indexes": [{"name": "IX_Jobs_Start", "columns": ["StartTime", "Status"], "include": ["EndTime"]}],
        "unique": [], "foreign_keys": []}
    drop = ops.DropColumnOp.from_column_and_tablename("dbo", "IngestionJobs", sa.Column("JobId", sa.BigInteger()))
    add = ops.AddColumnOp("IngestionJobs", sa.Column("IngestionJobId", sa.BigInteger()), schema="dbo")
    kept = ops.AddColumnOp("IngestionJobs", sa.Column("Priority", sa.Integer()), schema="dbo")
    renamed_ops, changes, mapping = _declared_renames([drop, add, kept], {"jobid": "IngestionJobId"}, "dbo",
                                                      "IngestionJobs", MSSQL)
    assert mapping == {"jobid": "IngestionJobId"} and [c.change for c in changes] == ["column renamed"]
    assert [type(o).__name__ for o in renamed_ops] == ["AlterColumnOp", "AddColumnOp"]
    assert renamed_ops[0].modify_name == "IngestionJobId" and renamed_ops[1] is kept


def test_a_column_renamed_and_changed_at_once_is_refused():
    # review finding: the rename alone left the new type unapplied, and unseen once recorded
    from deployer.target.schema_diff import _declared_renames

    drop = ops.DropColumnOp.from_column_and_tablename("dbo", "IngestionJobs", sa.Column("StartedAt", sa.Unicode(50)))
    add = ops.AddColumnOp("IngestionJobs", sa.Column("StartTime", sa.DateTime(), nullable=False), schema="dbo")
    _, changes, _ = _declared_renames([drop, add], {"startedat": "StartTime"}, "dbo", "IngestionJobs", MSSQL)
    assert [(c.change, c.fatal) for c in changes] == [("column renamed", False), ("unsupported change", True)]
    assert "rename it in one release and change it in the next" in changes[1].detail


def test_check_expressions_rename_identifiers_only():
    from deployer.target.schema_diff import _renamed_in_expression

    renamed = {"status": "JobStatus", "observed": "ObservedOn"}
    assert _renamed_in_expression("([Status] IN ('Status', N'Done') AND observed >= '2000-01-01'::date)", renamed) == \
        "([JobStatus] IN ('Status', N'Done') AND ObservedOn >= '2000-01-01'::date)"
    # PostgreSQL: a quoted name is its exact spelling; "Status" is not the column status
    assert _renamed_in_expression('("Status" > 0 AND "status" > 0)', renamed) == '("Status" > 0 AND "JobStatus" > 0)'
    assert _renamed_in_expression("(status::text <> 'status')", {"status": "state", "text": "nope"}) == \
        "(state::text <> 'status')"
