#!/usr/bin/env bash
# The tSQLt test classes (tests/tsqlt/*.sql) against the published database on SQL Server.
#
#   HARTONOMOUS_MSSQL_DSN='DRIVER={ODBC Driver 18 for SQL Server};SERVER=host,1433;DATABASE=Hartonomous;UID=me;PWD=...' \
#       bash scripts/mssql-tests.sh /path/to/tSQLt.class.sql
#
# HARTONOMOUS_MSSQL_DSN is the connection `python -m deployer publish --target mssql` uses (an ODBC
# connection string, or an mssql+pyodbc:// URL with the password in HARTONOMOUS_MSSQL_PASSWORD),
# read by the deployer's own parser; the database is its DATABASE (default Hartonomous). The tSQLt
# file is your own copy (the argument, or HARTONOMOUS_TSQLT_CLASS); nothing is downloaded.
#
# Steps: prepare the server for tSQLt (its PrepareServer.sql, when your copy has one beside
# tSQLt.class.sql: CLR enabled and tSQLt's signing key, which `clr strict security` on SQL Server
# 2017+ needs; it needs sysadmin), install tSQLt into the database, load every class file with
# sqlcmd -b -I, run `EXEC tSQLt.RunAll`, print each test's result. Exit 0: every test passed;
# 1: a test failed or a step did; 2: a usage error. The password travels in SQLCMDPASSWORD, never
# on a command line; nothing here prints it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "mssql-tests: $*" >&2; exit 2; }

[ -n "${HARTONOMOUS_MSSQL_DSN:-}" ] || die "set HARTONOMOUS_MSSQL_DSN to the ODBC connection string of the server (as for publish --target mssql)"
TSQLT_CLASS="${1:-${HARTONOMOUS_TSQLT_CLASS:-}}"
[ -n "$TSQLT_CLASS" ] || die "give the path of your tSQLt.class.sql (argument or HARTONOMOUS_TSQLT_CLASS); get tSQLt from https://tsqlt.org/downloads/"
[ -f "$TSQLT_CLASS" ] || die "$TSQLT_CLASS: no such file (expected tSQLt.class.sql from the tSQLt download)"
command -v sqlcmd >/dev/null 2>&1 || die "sqlcmd is not on PATH (mssql-tools18, or go-sqlcmd)"
PYTHON="$ROOT/.venv/bin/python"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)" || die "no Python to read HARTONOMOUS_MSSQL_DSN with (run scripts/setup.sh)"

# The deployer's reading of the connection string (deployer.engines.mssql.engine), as shell
# assignments; the password goes to SQLCMDPASSWORD (exported, so only sqlcmd's environment has it).
connection="$(cd "$ROOT" && PYTHONPATH="$ROOT" "$PYTHON" - <<'PY'
import os, shlex
from deployer.engines.base import TargetError
from deployer.engines.mssql.dialect import DEFAULT_DATABASE, check_database_name
from deployer.engines.mssql.engine import parse_connection_string, url_to_odbc
from deployer.source.render import RenderError

dsn = os.environ["HARTONOMOUS_MSSQL_DSN"]
try:
    odbc = url_to_odbc(dsn) if dsn.strip().lower().startswith("mssql+") else dsn
    pairs = {k.upper(): v for k, v in parse_connection_string(odbc)}
    database = check_database_name(pairs.get("DATABASE") or pairs.get("INITIAL CATALOG") or DEFAULT_DATABASE)
except (TargetError, RenderError, ValueError) as exc:
    raise SystemExit(f"mssql-tests: HARTONOMOUS_MSSQL_DSN: {exc}")
def unbrace(value):
    return value[1:-1].replace("}}", "}") if value.startswith("{") and value.endswith("}") else value
server = pairs.get("SERVER") or pairs.get("ADDRESS") or pairs.get("DATA SOURCE")
if not server:
    raise SystemExit("mssql-tests: HARTONOMOUS_MSSQL_DSN names no SERVER")
user = unbrace(pairs.get("UID") or pairs.get("USER ID") or "")
yes = ("yes", "true", "1", "mandatory", "strict")
values = {
    "SERVER": unbrace(server),
    "DATABASE": database,
    "SQLUSER": user,
    "TRUST_CERT": "1" if pairs.get("TRUSTSERVERCERTIFICATE", "").lower() in yes else "",
    "ENCRYPT": pairs.get("ENCRYPT", "").lower(),
}
for name, value in values.items():
    print(f"{name}={shlex.quote(value)}")
password = pairs.get("PWD") or pairs.get("PASSWORD")
if user and password is not None:
    print(f"export SQLCMDPASSWORD={shlex.quote(unbrace(password))}")
PY
)" || exit 2
SERVER="" DATABASE="" SQLUSER="" TRUST_CERT="" ENCRYPT=""
eval "$connection"
unset connection

SQLCMD=(sqlcmd -S "$SERVER" -b -I)
if [ -n "$SQLUSER" ]; then SQLCMD+=(-U "$SQLUSER"); else SQLCMD+=(-E); fi
[ -n "$TRUST_CERT" ] && SQLCMD+=(-C)
case "$ENCRYPT" in
    no|false|optional) SQLCMD+=(-No) ;;
    strict) SQLCMD+=(-Ns) ;;
esac

step() { echo "== $*"; }

step "checking $SERVER / $DATABASE"
"${SQLCMD[@]}" -d master -h -1 -v "DatabaseName=$DATABASE" -Q "SET NOCOUNT ON;
IF DB_ID(N'\$(DatabaseName)') IS NULL
    RAISERROR(N'database \$(DatabaseName) does not exist: publish the package first (python -m deployer publish --target mssql)', 16, 1);
PRINT CONCAT(N'SQL Server ', CAST(SERVERPROPERTY('ProductVersion') AS NVARCHAR(32)));" \
    || { echo "mssql-tests: cannot use database $DATABASE on $SERVER" >&2; exit 1; }

PREPARE="$(dirname "$TSQLT_CLASS")/PrepareServer.sql"
if [ -f "$PREPARE" ]; then
    step "preparing the server for tSQLt ($PREPARE: CLR enabled, tSQLt's signing key; needs sysadmin)"
    "${SQLCMD[@]}" -d master -i "$PREPARE" || { echo "mssql-tests: PrepareServer.sql failed (it needs sysadmin)" >&2; exit 1; }
else
    # tSQLt before 1.0.7597 has no PrepareServer.sql: CLR must be on, and on 2017+ its unsigned
    # assembly loads only with `clr strict security` off, a server-wide security change this script
    # does not make for you
    step "no PrepareServer.sql beside $TSQLT_CLASS: checking CLR by hand"
    "${SQLCMD[@]}" -d master -h -1 -Q "SET NOCOUNT ON;
IF EXISTS (SELECT 1 FROM sys.configurations WHERE name = N'clr strict security' AND CAST(value_in_use AS INT) = 1)
    RAISERROR(N'clr strict security is on (SQL Server 2017+): use a tSQLt download that has PrepareServer.sql (1.0.7597 or later) and put it beside tSQLt.class.sql', 16, 1);
IF EXISTS (SELECT 1 FROM sys.configurations WHERE name = N'clr enabled' AND CAST(value_in_use AS INT) = 0)
BEGIN
    EXEC sys.sp_configure N'clr enabled', 1;
    RECONFIGURE;
END;" || { echo "mssql-tests: the server is not ready for tSQLt (see above)" >&2; exit 1; }
fi

step "installing tSQLt into $DATABASE ($TSQLT_CLASS)"
"${SQLCMD[@]}" -d "$DATABASE" -i "$TSQLT_CLASS" >/dev/null || { echo "mssql-tests: installing tSQLt failed" >&2; exit 1; }
"${SQLCMD[@]}" -d "$DATABASE" -h -1 -Q "SET NOCOUNT ON; SELECT CONCAT(N'tSQLt ', Version) FROM tSQLt.Info();"
# the billing classes run outside tSQLt's transaction (the NoTransaction annotation, 1.0.8043)
"${SQLCMD[@]}" -d "$DATABASE" -Q "SET NOCOUNT ON;
IF EXISTS (SELECT 1 FROM tSQLt.Info() WHERE TRY_CAST(PARSENAME(Version, 4) AS INT) = 1
           AND TRY_CAST(PARSENAME(Version, 3) AS INT) = 0 AND TRY_CAST(PARSENAME(Version, 2) AS INT) < 8043)
    RAISERROR(N'tSQLt 1.0.8043 or later is needed (the NoTransaction annotation): get it from https://tsqlt.org/downloads/', 16, 1);" \
    || { echo "mssql-tests: this tSQLt is too old" >&2; exit 1; }

step "loading the test classes"
shopt -s nullglob
classes=("$ROOT"/tests/tsqlt/*.sql)
[ "${#classes[@]}" -gt 0 ] || die "no class files in $ROOT/tests/tsqlt"
for file in "${classes[@]}"; do
    echo "   ${file#"$ROOT"/}"
    "${SQLCMD[@]}" -d "$DATABASE" -i "$file" >/dev/null || { echo "mssql-tests: loading $file failed" >&2; exit 1; }
done

step "running EXEC tSQLt.RunAll"
status=0
"${SQLCMD[@]}" -d "$DATABASE" -Q "EXEC tSQLt.RunAll;" || status=1
step "results"
"${SQLCMD[@]}" -d "$DATABASE" -W -s " | " -Q "SET NOCOUNT ON;
SELECT Class, TestCase, Result, LEFT(REPLACE(REPLACE(COALESCE(Msg, N''), CHAR(13), N' '), CHAR(10), N' '), 400) AS Message
FROM tSQLt.TestResult ORDER BY Class, TestCase;
SELECT Result, COUNT(*) AS Tests FROM tSQLt.TestResult GROUP BY Result;" || status=1
if [ "$status" -ne 0 ]; then
    echo "mssql-tests: tests failed" >&2
    exit 1
fi
echo "mssql-tests: all tests passed"
