"""The lifecycle the local fakes share (fake marketplaces, fake WhatsApp): a threaded stdlib HTTP
server on loopback, started in a daemon thread, stopped promptly, usable as a context manager.
A subclass passes its request handler class; the handler reaches the fake as ``server.fake``."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class FakeServer:
    def __init__(
        self, host: str, port: int, handler: type[BaseHTTPRequestHandler], name: str
    ) -> None:
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self._name = name

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        if self._thread is None:
            # A short poll interval: stop() (shutdown) waits up to one interval.
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=self._name,
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def serve_until_signalled(self, announce: Mapping[str, Any]) -> None:
        """Run in the foreground (``python -m infra.local.<fake>``) until SIGTERM/SIGINT,
        after printing ``announce`` as one JSON line for whoever started the process."""

        def stop(signum: int, frame: Any) -> None:
            # shutdown() waits for serve_forever to return: call it off the serving thread.
            threading.Thread(target=self._server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print(json.dumps(dict(announce)), flush=True)
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
