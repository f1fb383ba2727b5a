"""The autonomous loop's commands: `loop start|stop|status` and `health` (the runbook's quick
health check). Thin: the target's engine does the work (engine.data), the report room prints.
"""

from __future__ import annotations

from rich.console import Console

from deployer.cli.common import EXIT_FAILED, EXIT_OK, open_existing, target_options
from deployer.report.tables import health_table, loop_table


def add_commands(commands) -> None:
    target = target_options()
    loop = commands.add_parser("loop", help="the autonomous loop: switch it on or off, or see how it runs")
    actions = loop.add_subparsers(dest="loop_command", required=True)
    start = actions.add_parser("start", parents=[target],
                               help="switch the loop on, queue a first Analyze, and schedule its dispatcher "
                                    "(PostgreSQL: a pg_cron job every minute)")
    start.add_argument("--unless-stopped", action="store_true",
                       help="leave a loop an operator switched off as it is (what publish-local.sh does)")
    start.set_defaults(run=cmd_loop_start)
    stop = actions.add_parser("stop", parents=[target], help="switch the loop off and remove its schedule")
    stop.set_defaults(run=cmd_loop_stop)
    status = actions.add_parser("status", parents=[target], help="the health check (same as `health`)")
    status.set_defaults(run=cmd_health)

    health = commands.add_parser("health", parents=[target],
                                 help="the runbook's quick health check: the loop, its queues, indexes, activity; "
                                      "exit 1 when a component FAILED")
    health.set_defaults(run=cmd_health)


def cmd_loop_start(args, console: Console) -> int:
    engine = open_existing(args)
    try:
        rows = engine.data.start_loop(unless_stopped=args.unless_stopped)
    finally:
        engine.close()
    console.print(loop_table("loop start", rows))
    return EXIT_OK


def cmd_loop_stop(args, console: Console) -> int:
    engine = open_existing(args)
    try:
        rows = engine.data.stop_loop()
    finally:
        engine.close()
    console.print(loop_table("loop stop", rows))
    return EXIT_OK


def cmd_health(args, console: Console) -> int:
    engine = open_existing(args)
    try:
        rows = engine.data.health()
    finally:
        engine.close()
    console.print(health_table(rows))
    return EXIT_FAILED if any(status == "FAILED" for _, status, _ in rows) else EXIT_OK
