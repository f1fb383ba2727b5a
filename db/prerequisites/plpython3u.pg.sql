-- kind: extension
-- engine-specific: PostgreSQL runs the package's Python in plpython3u; SQL Server uses Machine Learning Services (ExternalScriptsEnabled)
-- Untrusted language: creating it needs a superuser. The functions written in it read only the
-- database and never touch files or run commands (see README, Security).
CREATE EXTENSION IF NOT EXISTS plpython3u;
