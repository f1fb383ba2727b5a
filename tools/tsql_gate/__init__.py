"""The T-SQL static gate: SQL Server text checked after the render step, before any server.

Development tooling (not part of the `deployer` runtime package, not in its wheel); run by
tests/test_tsql_gate.py and by `python -m tools.tsql_gate`. One concern per module, imported in
this order (each imports only modules above it):

    text        blanking comments and strings, binding pyodbc `?` markers to @P1..@Pn
    statements  splitting a batch into statements on sqlglot's tokens
    registry    what is checked: the render variants and the deployer's statement registry
    failures    the failure records the checks report
    schema      the tables and columns the package (and deploy.*) define
    parse       the sqlfluff syntax gate, its exemptions
    references  the reference check: names in DML must resolve against the schema
    rules       server-behaviour rules (OUTPUT parameters reset, CATCH blocks and XACT_STATE,
                spatial nearest-neighbour predicates): findings of SQL Server reviews as checks
    tsqlt       the tSQLt test classes (tests/tsqlt/) as objects the parse and reference checks take
    __main__    `python -m tools.tsql_gate`
"""
