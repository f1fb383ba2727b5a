"""Development tooling of the Hartonomous repository: run from a checkout, not shipped in the wheel.

The runtime package is `deployer`; what lives here checks it (tools.tsql_gate: the static T-SQL
gate) and is used by the test suite and by hand (`python -m tools.tsql_gate`).
"""
