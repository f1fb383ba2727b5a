"""Command line for the security model: `grant` (a login into a role of the database, for tenants).

Thin: the engine seam does the work (Engine.grant_role). Logins themselves, and their passwords,
are the DBA's: the deployer never creates or sees a credential.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from deployer.cli.common import EXIT_ERROR, EXIT_OK, open_existing, target_options
from deployer.source.catalog import ROLE_KINDS

TENANT_ROLES = ("app", "reader")


def cmd_grant(args, console: Console) -> int:
    tenants = sorted(set(args.tenant or []))
    if any(t < 0 for t in tenants):
        console.print("[red]--tenant must be 0 or more[/red]")
        return EXIT_ERROR
    if not args.revoke and args.role in TENANT_ROLES and not tenants:
        console.print(f"[red]the {args.role} role works in a tenant: give --tenant (repeat it for a login "
                      f"that serves several; its sessions then choose one with dbo.sp_SetSessionTenant)[/red]")
        return EXIT_ERROR
    engine = open_existing(args)
    try:
        engine.grant_role(args.login, args.role, tenants, revoke=args.revoke)
    finally:
        engine.close()
    what = f"tenant{'s' if len(tenants) > 1 else ''} {', '.join(map(str, tenants))}" if tenants else "no tenant"
    if args.revoke:
        console.print(f"revoked from {escape(args.login)}: " + (what if tenants else f"the {args.role} role and every tenant"))
    else:
        console.print(f"granted {escape(args.login)} the {args.role} role of {escape(engine.label)}, acting for {what}")
    return EXIT_OK


def add_commands(commands) -> None:
    grant = commands.add_parser("grant", parents=[target_options()],
                                help="make a login a member of one of the database's roles, acting for tenants")
    grant.add_argument("--login", required=True, help="an existing login (PostgreSQL: a role with LOGIN)")
    grant.add_argument("--role", required=True, choices=ROLE_KINDS,
                       help="admin: every tenant; app: the public procedures; reader: its tenant's tables and "
                            "views; system: the autonomous loop")
    grant.add_argument("--tenant", type=int, action="append",
                       help="a tenant the login acts for (repeat for several)")
    grant.add_argument("--revoke", action="store_true",
                       help="take the --tenant(s) away; without --tenant, the role and every tenant")
    grant.set_defaults(run=cmd_grant)
