"""Serves the API function's Chalice app over HTTP, as ``chalice local`` does, for the local stack.

The API function is the one whose ``Api`` events template.yaml declares (``ApiFunction``). This
process gets that function's environment (resolved by moto), puts its code directory and layers
first on ``sys.path``, imports ``module.attr`` from its ``Handler`` (``app.app``: a ``Chalice``
object) and serves it with chalice's own local server, which routes each request by the
``resourcePath`` of the matching Chalice route exactly like ``chalice local``. It binds
127.0.0.1 on a free port and reports the URL in ``<state-dir>/run/<function>.json``::

    python -m infra.local.api --state-dir .local

Routes of the local stack only, added to the loaded app object here (so they are neither in
``functions/api`` nor in template.yaml, and never deployed), both behind the operator's admin
token, checked by the admin routes' own check (``linkstar.api.auth.require_admin``):

``GET /_local/clock``
    ``{"now": <ISO>, "offset_seconds": <float>}``: the stack's time and how far it runs ahead.
``POST /_local/clock``
    Body ``{"advance_seconds": N}`` (N >= 0) or ``{"set": "<ISO time with offset>"}``. Moves the
    clock every process of the stack reads (``$LINKSTAR_CLOCK_FILE``), then waits, up to
    :data:`FIRE_TIMEOUT_SECONDS`, until every enabled schedule that the move made due reports it
    fired for its latest due time (missed times coalesce into that one firing, as EventBridge
    does), and answers 200 ``{"now", "offset_seconds", "fired": [{"function", "event",
    "fired_for", "ok"}], "pending": [{"function", "event", "due", "fired_for"}]}``; ``pending``
    lists schedules that did not report in time (``due`` is null when a schedule's runtime has
    reported no state at all). Time only moves forward: an earlier ``set`` or a negative
    ``advance_seconds`` is 400 ``clock_backwards``; any other body is 400
    ``invalid_clock_request``; a missing or wrong token is 401.

chalice's local server handles each request on its own thread (``ThreadedHTTPServer``), so a
``POST /_local/clock`` waiting for schedules does not hold up other requests; only two moves of
the clock are serialized, and only while the offset is read and written.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Chalice
from chalice.config import Config
from chalice.local import LocalDevServer, create_local_server

from infra.local import schedule
from infra.local.control import default_state_dir
from infra.local.runtime import (
    FunctionRuntime,
    configure_logging,
    lambda_environment,
    latest_due,
    mark_ready,
    read_deployment,
    read_schedule_marker,
    schedule_marker,
    use_clock_file,
    wait_for_stop,
)
from infra.local.stack import DeployedStack
from infra.local.template import DEFAULT_TEMPLATE, FunctionSpec, ScheduleSource

log = logging.getLogger("infra.local.api")

CLOCK_ROUTE = "/_local/clock"
FIRE_TIMEOUT_SECONDS = 60.0
"""How long ``POST /_local/clock`` waits for the schedules it made due before answering."""
FIRE_POLL_SECONDS = 0.1


# ---------------------------------------------------------------- the local clock


class ClockRequestError(ValueError):
    """A ``POST /_local/clock`` the clock refuses; ``code`` is the API's machine-readable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ClockChange:
    """One request to move the clock: by a number of seconds, or to a moment."""

    advance_seconds: float | None = None
    target: datetime | None = None

    @classmethod
    def from_body(cls, body: Any) -> ClockChange:
        """Validate ``{"advance_seconds": N}`` or ``{"set": "<ISO time>"}`` (exactly one)."""
        if not isinstance(body, dict) or len(body) != 1:
            raise ClockRequestError(
                "invalid_clock_request",
                'the body must be {"advance_seconds": <seconds>} or {"set": "<ISO time>"}',
            )
        ((key, value),) = body.items()
        if key == "advance_seconds":
            # bool is an int subclass, and true is not a number of seconds.
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ClockRequestError(
                    "invalid_clock_request", "advance_seconds must be a number of seconds"
                )
            if not math.isfinite(value):
                raise ClockRequestError("invalid_clock_request", "advance_seconds must be finite")
            if value < 0:
                raise ClockRequestError("clock_backwards", "the clock only moves forward")
            return cls(advance_seconds=float(value))
        if key == "set":
            try:
                target = datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                target = None
            if target is None or target.utcoffset() is None:
                raise ClockRequestError(
                    "invalid_clock_request",
                    "set must be an ISO 8601 time with a UTC offset, e.g. 2026-04-01T00:00:00Z",
                )
            return cls(target=target.astimezone(UTC))
        raise ClockRequestError(
            "invalid_clock_request", f"unknown field {key!r}: use advance_seconds or set"
        )

    def apply(self, offset: float, system_now: datetime) -> tuple[float, datetime]:
        """The clock file's new offset, and the time it makes it, given the current offset."""
        current = system_now + timedelta(seconds=offset)
        if self.target is not None and self.target < current:
            raise ClockRequestError(
                "clock_backwards",
                f"the clock only moves forward: it is already {current.isoformat()}",
            )
        if self.advance_seconds is not None:
            # Added to the offset, not recomputed from a moment, so nothing is lost to rounding.
            new_offset = offset + self.advance_seconds
        else:
            assert self.target is not None
            new_offset = (self.target - system_now).total_seconds()
        try:
            return new_offset, system_now + timedelta(seconds=new_offset)
        except OverflowError as exc:  # past datetime's year 9999
            raise ClockRequestError("invalid_clock_request", "that time is out of range") from exc


@dataclass(frozen=True)
class _Schedule:
    function: str
    event: str
    expression: schedule.Rate | schedule.Cron
    marker: Path


@dataclass
class LocalClock:
    """Reads and moves the stack's clock, and waits for the schedules a move makes due."""

    clock_file: Path
    state_dir: Path
    functions: Mapping[str, FunctionSpec]
    fire_timeout: float = FIRE_TIMEOUT_SECONDS
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def read(self) -> dict[str, Any]:
        from linkstar import clock

        offset = clock.offset_seconds(self.clock_file)
        now = datetime.now(UTC) + timedelta(seconds=offset)
        return {"now": now.isoformat(), "offset_seconds": offset}

    def move(self, body: Any) -> dict[str, Any]:
        from linkstar import clock

        change = ClockChange.from_body(body)
        schedules = self.schedules()
        # One move at a time, so two requests cannot both add to the same old offset.
        with self._lock:
            # Read before the move: a schedule's ``next_due`` is its place on its own timeline
            # (a rate counts from when its runtime started), which the due time is computed from.
            before = {s: read_schedule_marker(s.marker) for s in schedules}
            system_now = datetime.now(UTC)
            offset, moved_to = change.apply(clock.offset_seconds(self.clock_file), system_now)
            clock.set_offset(self.clock_file, offset)
        log.info("clock moved to %s (offset %.0fs)", moved_to.isoformat(), offset)
        fired, pending = self._wait_for_due(schedules, before, moved_to)
        return {**self.read(), "fired": fired, "pending": pending}

    def schedules(self) -> list[_Schedule]:
        """Every enabled schedule of the deployment (a disabled one has no poller)."""
        found = []
        for spec in self.functions.values():
            for source in spec.background_sources:
                if isinstance(source, ScheduleSource) and source.enabled:
                    found.append(
                        _Schedule(
                            spec.logical_id,
                            source.name,
                            schedule.parse(source.expression, source.timezone),
                            schedule_marker(self.state_dir, spec.logical_id, source.name),
                        )
                    )
        return sorted(found, key=lambda s: (s.function, s.event))

    def _wait_for_due(
        self,
        schedules: Sequence[_Schedule],
        before: Mapping[_Schedule, dict[str, Any] | None],
        moved_to: datetime,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        waiting: dict[_Schedule, datetime | None] = {}
        for item in schedules:
            state = before[item]
            if state is None or not state.get("next_due"):
                waiting[item] = None  # its runtime has not reported yet: nothing to wait for
                continue
            next_due = datetime.fromisoformat(state["next_due"])
            if next_due > moved_to:
                continue  # the move made nothing of this schedule due
            try:
                waiting[item] = latest_due(item.expression, next_due, moved_to)[0]
            except schedule.ScheduleError:
                continue  # a cron past its last year never fires again
        fired: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.fire_timeout
        while True:
            for item, due in list(waiting.items()):
                state = read_schedule_marker(item.marker) or {}
                fired_for = state.get("fired_for")
                if due is not None and fired_for and datetime.fromisoformat(fired_for) >= due:
                    fired.append(
                        {
                            "function": item.function,
                            "event": item.event,
                            "fired_for": fired_for,
                            "ok": state.get("ok"),
                        }
                    )
                    del waiting[item]
            if all(due is None for due in waiting.values()) or time.monotonic() >= deadline:
                break
            time.sleep(FIRE_POLL_SECONDS)
        pending = [
            {
                "function": item.function,
                "event": item.event,
                "due": due.isoformat() if due is not None else None,
                "fired_for": (read_schedule_marker(item.marker) or {}).get("fired_for"),
            }
            for item, due in waiting.items()
        ]
        return fired, pending


def register_local_routes(app: Chalice, local_clock: LocalClock) -> None:
    """Add ``GET``/``POST /_local/clock`` to the app this process serves (and only here)."""
    # Imported once the app is loaded, so ``linkstar`` comes from the function's layer.
    from linkstar.api.auth import require_admin
    from linkstar.api.http import json_object, route
    from linkstar.errors import BadRequest, Unauthorized
    from linkstar.settings import get_settings

    bp = Blueprint(__name__)
    if not get_settings().admin_token_secret_arn:
        log.warning("no ADMIN_TOKEN_SECRET_ARN: %s will refuse every request", CLOCK_ROUTE)

    def require_operator() -> None:
        # Without a token secret the admin check would fail on the AWS call, as a 500.
        if not get_settings().admin_token_secret_arn:
            raise Unauthorized("this stack has no admin token to check", code="invalid_admin_token")
        require_admin(bp)

    @route(bp, CLOCK_ROUTE, methods=["GET"])
    def read_local_clock() -> dict[str, Any]:
        require_operator()
        return local_clock.read()

    @route(bp, CLOCK_ROUTE, methods=["POST"])
    def move_local_clock() -> dict[str, Any]:
        require_operator()
        try:
            body = json_object(bp)
        except BadRequest as exc:  # not JSON: one code for every unusable body
            raise BadRequest(exc.message, code="invalid_clock_request") from exc
        try:
            return local_clock.move(body)
        except ClockRequestError as exc:
            raise BadRequest(exc.message, code=exc.code) from exc

    app.register_blueprint(bp)


# ---------------------------------------------------------------- serving the app


def chalice_server(
    spec: FunctionSpec,
    deployed: DeployedStack,
    root: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    extend: Callable[[Chalice], None] | None = None,
) -> LocalDevServer:
    """Import the function's Chalice app and wrap it in chalice's local HTTP server.

    ``extend`` adds routes to the loaded app first: the local stack's own (``/_local/...``).
    """
    app = FunctionRuntime(spec, deployed, root=root).load()
    if not isinstance(app, Chalice):
        raise TypeError(f"{spec.logical_id}: {spec.handler} is a {type(app).__name__}, not Chalice")
    if extend is not None:
        extend(app)
    config = Config(
        chalice_stage="dev",
        function_name=deployed.function_name(spec.logical_id),
        user_provided_params={
            "app_name": app.app_name,
            "lambda_timeout": spec.timeout,
            "lambda_memory_size": spec.memory_size,
        },
    )
    return create_local_server(app, config, host, port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.api", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    state = (args.state_dir or default_state_dir()).resolve()
    configure_logging("api")
    deployment = read_deployment(state, args.template)
    serving = [spec for spec in deployment.functions.values() if spec.api_routes]
    if len(serving) != 1:
        parser.error(f"expected one function with Api events, found {len(serving)}")
    spec = serving[0]
    deployed = deployment.stack
    os.environ.update(lambda_environment(deployed, spec, deployment.endpoint_url))
    local_clock = LocalClock(use_clock_file(state), state, deployment.functions)

    server = chalice_server(
        spec,
        deployed,
        args.template.resolve().parent,
        port=args.port,
        extend=lambda app: register_local_routes(app, local_clock),
    )
    host, port = server.server.server_address[:2]
    url = f"http://{host}:{port}"
    stop = threading.Event()

    def handle(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    thread = threading.Thread(target=server.server.serve_forever, name="http", daemon=True)
    thread.start()
    log.info("%s serving on %s", spec.logical_id, url)
    mark_ready(state, spec.logical_id, url=url)
    wait_for_stop(stop)
    # shutdown() waits for serve_forever to return, so it must run outside the serving thread.
    server.shutdown()
    server.server.server_close()
    thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
