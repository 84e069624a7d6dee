"""``python -m infra.local``: the local stack's command line (``make up``/``down``/``status``).

Commands: ``up`` (start in the background, wait until ready), ``down`` (stop everything),
``status``, ``replay-dlq`` (ask the API to replay the ingest DLQ), ``reconcile`` (recount a
month's usage against the counters) and ``supervise`` (run the
stack in the foreground; what ``up`` starts).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from infra.local import control
from infra.local.template import DEFAULT_TEMPLATE


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    # --state-dir is accepted before or after the command name.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"state directory (default: ${control.STATE_DIR_ENV} or .local)",
    )
    parser = argparse.ArgumentParser(
        prog="python -m infra.local", description=__doc__, parents=[common]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", parents=[common], help="start the local stack in the background")
    up.add_argument("--template", type=Path, default=None)
    up.add_argument("--timeout", type=float, default=control.START_TIMEOUT_SECONDS)
    commands.add_parser("down", parents=[common], help="stop the stack and all it started")
    commands.add_parser("status", parents=[common], help="is the local stack up, and where")
    commands.add_parser("replay-dlq", parents=[common], help="replay the ingest DLQ via the API")
    reconcile = commands.add_parser(
        "reconcile",
        parents=[common],
        help="recount a month's usage from the message log against the counters",
    )
    reconcile.add_argument("--month", default=None, help="YYYY-MM (default: this month)")
    reconcile.add_argument("--tenant", default=None, help="one tenant (default: every tenant)")
    supervise = commands.add_parser(
        "supervise", parents=[common], help="run the local stack in the foreground"
    )
    supervise.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    args = parser.parse_args(argv)
    given = getattr(args, "state_dir", None)
    state = given.resolve() if given else control.default_state_dir()

    if args.command == "up":
        try:
            info, started = control.start(state, args.template, args.timeout)
        except control.StackError as error:
            print(error, file=sys.stderr)
            return 1
        print("local stack up" if started else "local stack already up")
        print(f"  api_url:          {info['api_url']}")
        print(f"  console_url:      {info.get('console_url')}")
        print(f"  aws_endpoint_url: {info['aws_endpoint_url']}")
        print(f"  details:          {_shown(state / 'stack.json')}")
        print(f"  log:              {_shown(state / 'stack.log')}")
        return 0
    if args.command == "down":
        if control.down(state):
            print("local stack stopped")
        return 0
    if args.command == "status":
        running, text = control.status(state)
        print(text)
        return 0 if running else 1
    if args.command == "replay-dlq":
        try:
            code, answer = control.replay_dlq(state)
        except control.StackError as error:
            print(error, file=sys.stderr)
            return 1
        print(json.dumps(answer, indent=2) if not isinstance(answer, str) else answer)
        return 0 if 200 <= code < 300 else 1
    if args.command == "reconcile":
        query = urllib.parse.urlencode(
            {k: v for k, v in (("month", args.month), ("tenant_id", args.tenant)) if v}
        )
        try:
            code, answer = control.admin_request(
                state, "GET", "/admin/billing/reconcile" + (f"?{query}" if query else "")
            )
        except control.StackError as error:
            print(error, file=sys.stderr)
            return 1
        print(json.dumps(answer, indent=2) if not isinstance(answer, str) else answer)
        ok = isinstance(answer, dict) and answer.get("ok") is True
        return 0 if 200 <= code < 300 and ok else 1
    from infra.local.supervisor import supervise as run_supervisor

    return run_supervisor(state, args.template)


if __name__ == "__main__":
    sys.exit(main())
