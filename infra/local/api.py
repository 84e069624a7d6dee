"""Serves the API function's Chalice app over HTTP, as ``chalice local`` does, for the local stack.

The API function is the one whose ``Api`` events template.yaml declares (``ApiFunction``). This
process gets that function's environment (resolved by moto), puts its code directory and layers
first on ``sys.path``, imports ``module.attr`` from its ``Handler`` (``app.app``: a ``Chalice``
object) and serves it with chalice's own local server, which routes each request by the
``resourcePath`` of the matching Chalice route exactly like ``chalice local``. It binds
127.0.0.1 on a free port and reports the URL in ``<state-dir>/run/<function>.json``::

    python -m infra.local.api --state-dir .local
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import LocalDevServer, create_local_server

from infra.local.control import default_state_dir
from infra.local.runtime import (
    FunctionRuntime,
    configure_logging,
    lambda_environment,
    mark_ready,
    read_deployment,
    wait_for_stop,
)
from infra.local.stack import DeployedStack
from infra.local.template import DEFAULT_TEMPLATE, FunctionSpec

log = logging.getLogger("infra.local.api")


def chalice_server(
    spec: FunctionSpec,
    deployed: DeployedStack,
    root: Path,
    host: str = "127.0.0.1",
    port: int = 0,
) -> LocalDevServer:
    """Import the function's Chalice app and wrap it in chalice's local HTTP server."""
    app = FunctionRuntime(spec, deployed, root=root).load()
    if not isinstance(app, Chalice):
        raise TypeError(f"{spec.logical_id}: {spec.handler} is a {type(app).__name__}, not Chalice")
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

    server = chalice_server(spec, deployed, args.template.resolve().parent, port=args.port)
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
