"""Starting, stopping and inspecting the local stack: the ``up``/``down``/``status``/``replay-dlq``
commands and ``LocalStack``, the same operations as a context manager for tests.

``up`` starts the supervisor (``infra.local.supervisor``) in its own session, so it and every
process it starts share one process group, with output appended to ``<state>/stack.log``; it
returns once ``<state>/stack.json`` exists. ``down`` asks the supervisor to stop (SIGTERM), then
kills whatever of the stack is left - the supervisor, its process group, the pids stack.json
lists - checking each pid is one of ours first. The state directory is ``$LINKSTAR_LOCAL_DIR``,
or ``.local`` in the repository root.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from infra.local.template import REPO_ROOT

STATE_DIR_ENV = "LINKSTAR_LOCAL_DIR"
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 20.0
_OURS = "infra.local"


class StackError(RuntimeError):
    """The local stack did not start, or is not running when it must be."""


def default_state_dir() -> Path:
    configured = os.environ.get(STATE_DIR_ENV)
    return Path(configured).resolve() if configured else REPO_ROOT / ".local"


def read_stack(state: Path | None = None) -> dict[str, Any] | None:
    path = (state or default_state_dir()) / "stack.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data


# ---------------------------------------------------------------- processes


@dataclass(frozen=True)
class _Process:
    pid: int
    group: int
    zombie: bool
    command: str


def _processes() -> dict[int, _Process]:
    listing = subprocess.run(
        ["ps", "-ww", "-eo", "pid=,pgid=,stat=,args="], capture_output=True, text=True, check=True
    ).stdout
    found: dict[int, _Process] = {}
    for line in listing.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 3:
            continue
        pid, group, stat = int(parts[0]), int(parts[1]), parts[2]
        found[pid] = _Process(pid, group, stat.startswith("Z"), parts[3] if len(parts) > 3 else "")
    return found


def _ours(pids: Iterable[int | None], group: int | None = None) -> set[int]:
    """The live local-stack processes among ``pids`` and in process group ``group``."""
    table = _processes()
    wanted = {pid for pid in pids if pid}
    if group:
        wanted |= {p.pid for p in table.values() if p.group == group}
    return {
        pid
        for pid in wanted
        if pid in table and not table[pid].zombie and _OURS in table[pid].command
    }


def processes_of(state: Path) -> set[int]:
    """Live processes of the stack using ``state``: their command lines name the directory."""
    marker = str(Path(state).resolve())
    # Never this process or its parent: ``python -m infra.local --state-dir DIR up`` names the
    # directory too, and stopping a leftover stack must not stop the command doing it.
    me = {os.getpid(), os.getppid()}
    return {
        p.pid
        for p in _processes().values()
        if not p.zombie and _OURS in p.command and marker in p.command and p.pid not in me
    }


def alive(pids: Iterable[int]) -> set[int]:
    """Which of ``pids`` are local-stack processes still running (a zombie does not count).
    A pid alone is not enough: with Linux's default pid_max of 32768 a busy machine hands a
    stopped process's pid to another within seconds, which is not the stack still running."""
    return _ours(pids)


def _signal_all(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait_gone(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    left = _ours(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _ours(left)
    return left


def _supervisor_pid(state: Path) -> int | None:
    with contextlib.suppress(FileNotFoundError, ValueError):
        return int((state / "supervisor.pid").read_text(encoding="utf-8").strip())
    info = read_stack(state)
    return int(info["supervisor_pid"]) if info and info.get("supervisor_pid") else None


def running_supervisor(state: Path | None = None) -> int | None:
    state = state or default_state_dir()
    pid = _supervisor_pid(state)
    return pid if pid is not None and _ours([pid]) else None


# ---------------------------------------------------------------- commands


def log_tail(state: Path, lines: int = 40) -> str:
    try:
        text = (state / "stack.log").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no stack.log)"
    return "\n".join(text.splitlines()[-lines:])


def _wait_for_stack(
    state: Path, pid: int, timeout: float, process: subprocess.Popen[bytes] | None
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = read_stack(state)
        if info and info.get("supervisor_pid") == pid:
            return info
        exited = process.poll() is not None if process else not _ours([pid])
        if exited:
            raise StackError(f"the local stack failed to start:\n{log_tail(state)}")
        time.sleep(0.2)
    down(state)
    raise StackError(f"the local stack was not up after {timeout:.0f}s:\n{log_tail(state)}")


def start(
    state: Path | None = None,
    template: Path | None = None,
    timeout: float = START_TIMEOUT_SECONDS,
) -> tuple[dict[str, Any], subprocess.Popen[bytes] | None]:
    """Start the stack (or find it running); the supervisor's Popen when this call started it."""
    state = (state or default_state_dir()).resolve()
    state.mkdir(parents=True, exist_ok=True)
    pid = running_supervisor(state)
    if pid is not None:
        return _wait_for_stack(state, pid, timeout, None), None
    down(state)  # leftovers of a supervisor that died without cleaning up
    command = [sys.executable, "-m", "infra.local", "supervise", "--state-dir", str(state)]
    if template is not None:
        command += ["--template", str(Path(template).resolve())]
    env = {**os.environ, STATE_DIR_ENV: str(state), "PYTHONUNBUFFERED": "1"}
    with (state / "stack.log").open("ab") as log_file:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (state / "supervisor.pid").write_text(str(process.pid), encoding="utf-8")
    try:
        return _wait_for_stack(state, process.pid, timeout, process), process
    except StackError:
        down(state)
        process.wait()
        raise


def down(state: Path | None = None, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
    """Stop the stack and every process it started; True if anything was running."""
    state = (state or default_state_dir()).resolve()
    info = read_stack(state) or {}
    supervisor = _supervisor_pid(state)
    children = [int(pid) for pid in (info.get("pids") or {}).values() if pid]
    # Processes whose command line names this state directory count too: a stack whose pid
    # files were lost (a killed demo, a deleted directory) is still this directory's stack.
    children += sorted(processes_of(state))
    found = _ours([supervisor, *children], group=supervisor)
    if supervisor in found:
        assert supervisor is not None
        _signal_all([supervisor], signal.SIGTERM)
        _wait_gone({supervisor}, timeout)
    left = _ours([supervisor, *children], group=supervisor)
    if left:
        _signal_all(left, signal.SIGTERM)
        left = _wait_gone(left, 3.0)
    if left:
        _signal_all(left, signal.SIGKILL)
        # A killed process can't refuse, but on a loaded machine it may take seconds to be gone
        # (its memory torn down, its parent killed too): wait for that, not a fixed 3 s, so that
        # "down" returning means nothing of the stack runs.
        _wait_gone(left, timeout)
    # clock.json: how far the stopped stack's clock had been moved; the next one starts anew.
    for name in ("stack.json", "deployment.json", "supervisor.pid", "clock.json"):
        (state / name).unlink(missing_ok=True)
    shutil.rmtree(state / "run", ignore_errors=True)
    return bool(found)


def status(state: Path | None = None) -> tuple[bool, str]:
    state = (state or default_state_dir()).resolve()
    info = read_stack(state)
    pid = running_supervisor(state)
    if pid is None:
        left = processes_of(state)
        if left:
            return (
                False,
                f"local stack: not running, but {len(left)} of its processes are (run down)",
            )
        return False, "local stack: not running"
    if info is None:
        return True, f"local stack: starting (supervisor pid {pid})"
    alive = _ours(info.get("pids", {}).values())
    lines = [
        "local stack: up",
        f"  api_url:              {info.get('api_url')}",
        f"  aws_endpoint_url:     {info.get('aws_endpoint_url')}",
        f"  region:               {info.get('region')}",
        f"  supervisor:           pid {pid}",
    ]
    for name, child in sorted((info.get("pids") or {}).items()):
        state_word = "running" if child in alive else "NOT RUNNING"
        lines.append(f"  {name + ':':<22}pid {child} {state_word}")
    return True, "\n".join(lines)


def replay_dlq(state: Path | None = None) -> tuple[int, Any]:
    """POST the API's DLQ replay route with the operator token; (HTTP status, parsed answer)."""
    return admin_request(state, "POST", "/admin/dlq/replay")


def admin_request(state: Path | None, method: str, path: str) -> tuple[int, Any]:
    """Call an operator route of the running stack with its admin token."""
    info = read_stack(state)
    if not info or not info.get("api_url"):
        raise StackError("the local stack is not running (run: make up)")
    request = urllib.request.Request(  # noqa: S310 - the URL is the local stack's own
        f"{info['api_url']}{path}",
        data=b"{}" if method != "GET" else None,
        method=method,
        headers={
            "Authorization": f"Bearer {info['admin_token']}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            code, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        code, body = error.code, error.read()
    try:
        return code, json.loads(body or b"null")
    except json.JSONDecodeError:
        return code, body.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- for tests


class LocalStack:
    """The local stack as a context manager: started on enter, fully stopped on exit.

    ``info`` is the parsed stack.json (api_url, aws_endpoint_url, admin_token, resources, ...).
    """

    def __init__(
        self,
        state_dir: Path | str | None = None,
        template: Path | str | None = None,
        timeout: float = START_TIMEOUT_SECONDS,
    ) -> None:
        self.state = Path(state_dir).resolve() if state_dir else default_state_dir()
        self.template = Path(template) if template else None
        self.timeout = timeout
        self.info: dict[str, Any] = {}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> dict[str, Any]:
        self.info, self._process = start(self.state, self.template, self.timeout)
        return self.info

    def stop(self) -> None:
        down(self.state)
        if self._process is not None:
            # Reap the supervisor so no zombie outlives the stack.
            self._process.wait(timeout=STOP_TIMEOUT_SECONDS)
            self._process = None

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
