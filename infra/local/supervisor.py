"""The local stack's supervisor: moto on loopback, template.yaml deployed into it, the functions.

``python -m infra.local supervise`` runs this in the foreground (``up`` runs it in the
background). It starts moto's ``ThreadedMotoServer`` on 127.0.0.1 with a free port, deploys
template.yaml into it (``infra.local.stack.deploy``), starts the API server process and one
runtime process per function with non-HTTP event sources, waits until each reports ready, then
writes ``<state>/stack.json`` - the signal that the stack is up. A child that dies is restarted
with a growing delay. On SIGTERM or SIGINT it stops every child (SIGTERM, then SIGKILL), stops
moto and removes the files that say the stack is running.

State directory files: ``supervisor.pid``, ``deployment.json`` (what children read),
``run/<name>.json`` (ready markers), ``run/schedules/`` (what each schedule last fired),
``clock.json`` (how far the operator moved the stack's clock ahead; every child reads it through
``$LINKSTAR_CLOCK_FILE``, and a new stack starts without it, at real time), ``stack.json`` (for
people and tests), ``stack.log`` (written by whoever redirected this process's output, normally
``up``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from infra.local.marketplaces import FakeMarketplaces
from infra.local.runtime import (
    CLOCK_FILE_ENV,
    CLOCK_FILE_NAME,
    LOCAL_AWS_ENV,
    configure_logging,
    lambda_environment,
)
from infra.local.sms_voice import FakeSmsVoice
from infra.local.stack import DeployedStack, deploy
from infra.local.template import DEFAULT_STACK_NAME, DEFAULT_TEMPLATE, REPO_ROOT, load_template
from infra.local.whatsapp import FakeWhatsApp

log = logging.getLogger("infra.local.supervisor")

READY_TIMEOUT_SECONDS = 90.0
# Client environment variable (FakeMarketplaces.env) → the template parameter that sets it.
TEMPLATE_PARAMETERS = {
    "SPAPI_ENDPOINT": "SpApiEndpoint",
    "LWA_TOKEN_URL": "LwaTokenUrl",
    "TIKTOK_API_BASE": "TikTokApiBase",
    "TIKTOK_AUTH_BASE": "TikTokAuthBase",
    "SHOPEE_API_BASE": "ShopeeApiBase",
    "LAZADA_API_BASE": "LazadaApiBase",
    "LAZADA_AUTH_BASE": "LazadaAuthBase",
}
STOP_GRACE_SECONDS = 8.0
# Credentials a developer's shell may hold must never reach the local stack's processes.
_SCRUBBED_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL")


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    restart_at: float | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv, cwd=REPO_ROOT, env=self.env, stdin=subprocess.DEVNULL
        )
        log.info("started %s (pid %d)", self.name, self.process.pid)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()


@dataclass
class Supervisor:
    state: Path
    template_path: Path = DEFAULT_TEMPLATE
    region: str = "us-east-1"
    stack_name: str = DEFAULT_STACK_NAME
    stop: threading.Event = field(default_factory=threading.Event)
    children: list[Child] = field(default_factory=list)
    marketplaces: FakeMarketplaces | None = None
    whatsapp: FakeWhatsApp | None = None
    sms_voice: FakeSmsVoice | None = None

    @property
    def run_dir(self) -> Path:
        return self.state / "run"

    @property
    def clock_file(self) -> Path:
        return self.state / CLOCK_FILE_NAME

    def run(self) -> int:
        from moto.server import ThreadedMotoServer

        from infra.local import moto_fixes

        moto_fixes.install()

        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "supervisor.pid").write_text(str(os.getpid()), encoding="utf-8")
        self._forget_previous_run()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        log.info("moto listening on %s", endpoint)
        try:
            self._run_stack(endpoint)
            return 0
        except Exception:
            log.exception("the local stack failed")
            return 1
        finally:
            self._stop_children()
            server.stop()
            self._forget_previous_run()
            (self.state / "supervisor.pid").unlink(missing_ok=True)
            log.info("local stack stopped")

    def _run_stack(self, endpoint: str) -> None:
        # The marketplaces' order APIs, answered locally: enrichment is pointed at them through
        # the template's own parameters, as a deployment would point it at the real hosts.
        self.marketplaces = FakeMarketplaces().start()
        parameters = {
            TEMPLATE_PARAMETERS[name]: value for name, value in self.marketplaces.env().items()
        }
        # WhatsApp's Cloud API, answered locally with a token only this run knows; the stack's
        # WhatsAppTokenSecret gets it after the deploy, as an operator would paste Meta's.
        self.whatsapp = FakeWhatsApp(access_token=secrets.token_urlsafe(24)).start()
        parameters["WhatsAppApiBase"] = self.whatsapp.url
        parameters["WhatsAppPhoneNumberId"] = self.whatsapp.phone_number_id
        # MMS through End User Messaging SMS, which moto lacks: the functions' client is pointed
        # at this fake by botocore's per-service endpoint variable (below), everything else
        # still at moto. It sends from one number, which the stack is told about as an operator
        # would name an MMS-capable number, and it looks the media up in moto's S3.
        self.sms_voice = FakeSmsVoice(media_type=self._media_type_reader(endpoint)).start()
        parameters["SmsOriginationNumbers"] = json.dumps(
            {"default": next(iter(self.sms_voice.origination_identities))}
        )
        # Unsubscribe links must point at the API the contact can reach: the local API server
        # gets a port chosen now, so the template's PublicBaseUrl can name it.
        api_port = _free_port()
        parameters["PublicBaseUrl"] = f"http://127.0.0.1:{api_port}"
        template = load_template(self.template_path, parameters, region=self.region)
        deployed = deploy(
            self._client(endpoint, "cloudformation"),
            self._client(endpoint, "s3"),
            template=template,
            stack_name=self.stack_name,
            client_factory=lambda service: self._client(endpoint, service),
        )
        log.info("deployed %d resources from %s", len(deployed.resources), self.template_path.name)
        for logical_id, reason in {**template.removed, **deployed.skipped}.items():
            log.info("not in the local stack: %s (%s)", logical_id, reason)
        deployment = {
            "stack": deployed.to_dict(),
            "aws_endpoint_url": endpoint,
            # Children read their wiring from here instead of transforming the template again.
            "function_specs": {lid: spec.to_dict() for lid, spec in template.functions.items()},
        }
        _write_json(self.state / "deployment.json", deployment)
        token_secret = deployed.resources.get("WhatsAppTokenSecret")
        if token_secret:
            self._client(endpoint, "secretsmanager").put_secret_value(
                SecretId=token_secret, SecretString=self.whatsapp.access_token
            )

        base_env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        base_env["PYTHONUNBUFFERED"] = "1"
        base_env.update(self.sms_voice.env())
        # One clock for the whole stack: every function and the API add this file's offset.
        base_env[CLOCK_FILE_ENV] = str(self.clock_file)
        common = ["--state-dir", str(self.state), "--template", str(self.template_path)]
        api = template.api_function()
        if api is not None:
            env = {**base_env, **lambda_environment(deployed, api, endpoint)}
            argv = [sys.executable, "-m", "infra.local.api", *common, "--port", str(api_port)]
            self.children.append(Child(api.logical_id, argv, env))
        for spec in template.functions.values():
            if not spec.background_sources:
                continue
            env = {**base_env, **lambda_environment(deployed, spec, endpoint)}
            argv = [
                sys.executable,
                "-m",
                "infra.local.runtime",
                "--function",
                spec.logical_id,
                *common,
            ]
            self.children.append(Child(spec.logical_id, argv, env))
        for child in self.children:
            child.start()
        ready = self._wait_ready()
        if ready is None:
            return
        info = self._stack_info(deployed, endpoint, ready)
        _write_json(self.state / "stack.json", info)
        log.info("local stack up: api %s, aws %s", info.get("api_url"), endpoint)
        self._watch(info)

    def _media_type_reader(self, endpoint: str) -> Callable[[str, str], str | None]:
        s3 = self._client(endpoint, "s3")

        def media_type(bucket: str, key: str) -> str | None:
            try:
                return str(s3.head_object(Bucket=bucket, Key=key)["ContentType"])
            except ClientError:
                return None

        return media_type

    def _client(self, endpoint: str, service: str) -> BaseClient:
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=endpoint,
            aws_access_key_id=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def _wait_ready(self) -> dict[str, dict[str, Any]] | None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        ready: dict[str, dict[str, Any]] = {}
        while len(ready) < len(self.children):
            if self.stop.is_set():
                return None
            for child in self.children:
                marker = self.run_dir / f"{child.name}.json"
                if child.name not in ready and marker.exists():
                    ready[child.name] = json.loads(marker.read_text(encoding="utf-8"))
                code = child.exited()
                if code is not None:
                    raise RuntimeError(f"{child.name} exited with code {code} while starting")
            if time.monotonic() > deadline:
                waiting = sorted({c.name for c in self.children} - ready.keys())
                raise TimeoutError(f"not ready after {READY_TIMEOUT_SECONDS:.0f}s: {waiting}")
            self.stop.wait(0.1)
        return ready

    def _stack_info(
        self, deployed: DeployedStack, endpoint: str, ready: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, Any]:
        api_url = next((r["url"] for r in ready.values() if "url" in r), None)
        outputs = dict(deployed.outputs)
        if api_url is not None:
            # ApiUrl points at API Gateway in AWS; locally the Chalice server stands in for it.
            outputs["ApiUrl"] = api_url
        return {
            "api_url": api_url,
            "console_url": f"{api_url}/console" if api_url else None,
            "aws_endpoint_url": endpoint,
            "amazon_notifications_queue_url": deployed.resources.get("AmazonNotificationsQueue"),
            "marketplaces_url": self.marketplaces.url if self.marketplaces else None,
            "whatsapp_url": self.whatsapp.url if self.whatsapp else None,
            "sms_voice_url": self.sms_voice.url if self.sms_voice else None,
            "admin_token": self._admin_token(deployed, endpoint),
            "region": deployed.region,
            "account_id": deployed.account_id,
            "stack_name": deployed.stack_name,
            "supervisor_pid": os.getpid(),
            "pids": {child.name: child.pid for child in self.children},
            "resources": deployed.resources,
            "outputs": outputs,
            "functions": deployed.functions,
            "skipped": deployed.skipped,
        }

    def _admin_token(self, deployed: DeployedStack, endpoint: str) -> str | None:
        arn = deployed.resources.get("AdminTokenSecret")
        if arn is None:
            return None
        secret = self._client(endpoint, "secretsmanager").get_secret_value(SecretId=arn)
        return str(secret["SecretString"])

    def _watch(self, info: dict[str, Any]) -> None:
        while not self.stop.wait(0.5):
            changed = False
            for child in self.children:
                code = child.exited()
                now = time.monotonic()
                if code is not None and child.restart_at is None:
                    delay = min(30.0, 2.0**child.restarts)
                    log.error(
                        "%s exited with code %s; restarting in %.0fs", child.name, code, delay
                    )
                    child.restart_at = now + delay
                elif child.restart_at is not None and now >= child.restart_at:
                    child.restarts += 1
                    child.restart_at = None
                    child.start()
                    changed = True
            if changed:
                info["pids"] = {child.name: child.pid for child in self.children}
                _write_json(self.state / "stack.json", info)

    def _stop_children(self) -> None:
        if self.marketplaces is not None:
            self.marketplaces.stop()
            self.marketplaces = None
        if self.whatsapp is not None:
            self.whatsapp.stop()
            self.whatsapp = None
        if self.sms_voice is not None:
            self.sms_voice.stop()
            self.sms_voice = None
        running = [c for c in self.children if c.process and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            child.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s ignored SIGTERM; killing it", child.name)
                child.process.kill()
                child.process.wait()

    def _forget_previous_run(self) -> None:
        # The clock file goes too: a new stack starts at real time, not where the last one ended.
        for name in ("stack.json", "deployment.json", CLOCK_FILE_NAME):
            (self.state / name).unlink(missing_ok=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write_json(path: Path, data: Any) -> None:
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    scratch.replace(path)


def supervise(state: Path, template_path: Path = DEFAULT_TEMPLATE) -> int:
    configure_logging("supervisor")
    supervisor = Supervisor(state=state.resolve(), template_path=template_path.resolve())

    def handle(signum: int, _frame: Any) -> None:
        supervisor.stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return supervisor.run()
