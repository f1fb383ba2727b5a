"""The local PostgreSQL engine: install, start, stop (`python -m deployer local up|status|down`)."""
