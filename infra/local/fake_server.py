"""What the local fakes share (fake marketplaces, fake WhatsApp): a threaded stdlib HTTP server
on loopback, started in a daemon thread, stopped promptly, usable as a context manager; and the
request handler that reads a request, asks the fake for an :class:`Answer` and writes it as JSON.
A subclass passes its request handler class; the handler reaches the fake as ``server.fake``."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit


@dataclass
class Answer:
    """A fake's reply: the HTTP status, the JSON body and any extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class JsonRequestHandler(BaseHTTPRequestHandler):
    """Serves GET and POST by :meth:`answer`, written as JSON. A subclass sets
    ``server_version``, and ``content_type``/``ensure_ascii`` where its real API differs."""

    protocol_version = "HTTP/1.1"
    content_type = "application/json; charset=UTF-8"
    ensure_ascii = True

    def answer(self, path: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
        """The reply to ``self.command`` on ``path`` (``query`` is the raw query string;
        ``headers`` have lower-case names). By default the fake's own
        ``handle(method, path, headers, body)``, for a fake that ignores the query."""
        fake: Any = self.server.fake  # type: ignore[attr-defined]
        answer: Answer = fake.handle(self.command, path, headers, body)
        return answer

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            answer = self.answer(parts.path, parts.query, headers, body)
        except Exception as exc:  # a bug in the fake must show, not hang the client
            answer = Answer(500, {"message": f"fake failed: {exc!r}"})
        payload = json.dumps(answer.body, ensure_ascii=self.ensure_ascii).encode()
        self.send_response(answer.status, HTTPStatus(answer.status).phrase)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: the default log line is noise in test output, and request lines carry access
        # tokens (Shopee, Lazada put them in the query).
        return


def standalone_parser(module: str, description: str) -> argparse.ArgumentParser:
    """The command line of ``python -m <module>``: ``--host`` and ``--port``, the fake adds the
    rest."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    return parser


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
