"""The local stack's clock, moved over HTTP with ``POST /_local/clock``.

template.yaml has no scheduled function yet, so the firing of schedules is checked on a stack of
its own: a small template written next to copies of the integration tier's fake handlers
(tests/integration/fake_functions: ``tick`` observes each scheduled event on ObservationsQueue),
with an admin token secret like template.yaml's. The session's stack (template.yaml) is only
asked for the time, never moved, so other end-to-end tests keep running at real time.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from infra.local import LocalStack

FAKE_DIR = Path(__file__).parents[1] / "integration" / "fake_functions"
# Longer than the route's own wait for schedules (60 s), so a slow answer is seen as one.
TIMEOUT = 90

SCHEDULED_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: A scheduled function and an API with an operator token, for the local clock's tests.

Globals:
  Function:
    Runtime: python3.12
    Architectures: [arm64]
    MemorySize: 256
    Timeout: 5
    Layers:
      - !Ref FakeLayer
    Environment:
      Variables:
        OBSERVATIONS_QUEUE_URL: !Ref ObservationsQueue

Resources:
  FakeLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      LayerName: !Sub "${AWS::StackName}-fake"
      ContentUri: layer
      CompatibleRuntimes: [python3.12]

  ObservationsQueue:
    Type: AWS::SQS::Queue

  AdminTokenSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      GenerateSecretString:
        PasswordLength: 48
        ExcludePunctuation: true

  TickFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: tick
      Handler: app.handler
      Events:
        Hourly:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)
        Nightly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 2 * * ? *)

  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: api
      Handler: app.app
      Environment:
        Variables:
          ADMIN_TOKEN_SECRET_ARN: !Ref AdminTokenSecret
      Events:
        Health:
          Type: Api
          Properties:
            Path: /health
            Method: get
"""


@pytest.fixture(scope="module")
def scheduled_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """stack.json of a running stack with one function on two schedules."""
    root = tmp_path_factory.mktemp("scheduled-template")
    for name in ("api", "tick", "layer"):
        shutil.copytree(FAKE_DIR / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "template.yaml").write_text(SCHEDULED_TEMPLATE, encoding="utf-8")
    state = root / "state"
    state.mkdir()
    # A previous run's clock, a year ahead: the new stack must not inherit it.
    (state / "clock.json").write_text(json.dumps({"offset_seconds": 365 * 86_400.0}))
    with LocalStack(state_dir=state, template=root / "template.yaml") as local:
        yield local.info


def call_clock(
    info: dict[str, Any],
    method: str,
    body: Any = None,
    *,
    as_operator: bool = True,
    bearer: str | None = None,
) -> requests.Response:
    """``/_local/clock`` with the operator's admin token, another ``bearer`` token, or none."""
    headers = {"Content-Type": "application/json"}
    if bearer is None and as_operator:
        bearer = info["admin_token"]
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    data = body if isinstance(body, str) else None if body is None else json.dumps(body)
    return requests.request(
        method, f"{info['api_url']}/_local/clock", data=data, headers=headers, timeout=TIMEOUT
    )


def read_clock(info: dict[str, Any]) -> dict[str, Any]:
    response = call_clock(info, "GET")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def scheduled_events(info: dict[str, Any], wanted: int) -> list[dict[str, Any]]:
    """The events the tick function observed, waiting until ``wanted`` arrived (or 30 s)."""
    sqs = boto3.client(
        "sqs",
        endpoint_url=info["aws_endpoint_url"],
        region_name=info["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    queue = info["resources"]["ObservationsQueue"]
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(seen) < wanted and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            observation = json.loads(message["Body"])
            if observation["kind"] == "schedule":
                seen.append(observation["payload"]["event"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return seen


# ---------------------------------------------------------------- a stack with schedules


def test_a_new_stack_starts_at_real_time(scheduled_stack: dict[str, Any]) -> None:
    # When: the operator asks a freshly started stack for the time
    answer = read_clock(scheduled_stack)

    # Then: it is the real time, whatever a previous run had moved the clock to
    assert answer["offset_seconds"] == 0
    assert abs((parse(answer["now"]) - datetime.now(UTC)).total_seconds()) < 5


def test_moving_the_clock_needs_the_admin_token(scheduled_stack: dict[str, Any]) -> None:
    # Given
    before = read_clock(scheduled_stack)["offset_seconds"]

    # When: someone without the operator's token tries
    missing = call_clock(scheduled_stack, "POST", {"advance_seconds": 3600}, as_operator=False)
    wrong = call_clock(scheduled_stack, "POST", {"advance_seconds": 3600}, bearer="guess")
    peek = call_clock(scheduled_stack, "GET", as_operator=False)

    # Then: 401, and time did not move
    assert (missing.status_code, wrong.status_code, peek.status_code) == (401, 401, 401)
    assert wrong.json()["code"] == "invalid_admin_token"
    assert read_clock(scheduled_stack)["offset_seconds"] == before


def test_advancing_a_day_moves_now_and_fires_what_fell_due(
    scheduled_stack: dict[str, Any],
) -> None:
    # Given
    before = read_clock(scheduled_stack)

    # When: the operator moves the clock a day forward
    response = call_clock(scheduled_stack, "POST", {"advance_seconds": 86_400})

    # Then: the whole stack's time is a day ahead
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["offset_seconds"] == pytest.approx(before["offset_seconds"] + 86_400)
    now = parse(answer["now"])
    assert abs((now - datetime.now(UTC) - timedelta(days=1)).total_seconds()) < 10

    # And: both schedules fired once, for the latest time they passed, before the answer came
    assert answer["pending"] == []
    fired = {(f["function"], f["event"]): f for f in answer["fired"]}
    assert set(fired) == {("TickFunction", "Hourly"), ("TickFunction", "Nightly")}
    assert all(f["ok"] for f in fired.values())
    hourly = parse(fired["TickFunction", "Hourly"]["fired_for"])
    assert timedelta(0) <= now - hourly < timedelta(hours=1)
    nightly = parse(fired["TickFunction", "Nightly"]["fired_for"])
    assert (nightly.hour, nightly.minute, nightly.second) == (2, 0, 0)
    assert timedelta(0) <= now - nightly < timedelta(days=1)

    # And: the function received EventBridge's scheduled events for exactly those times
    events = scheduled_events(scheduled_stack, wanted=2)
    times = {e["time"] for e in events}
    assert {f"{hourly:%Y-%m-%dT%H:%M:%SZ}", f"{nightly:%Y-%m-%dT%H:%M:%SZ}"} <= times
    assert all(e["detail-type"] == "Scheduled Event" for e in events)


def test_setting_a_later_time_moves_now_there(scheduled_stack: dict[str, Any]) -> None:
    # Given: a moment two days ahead of the stack's clock
    current = parse(read_clock(scheduled_stack)["now"])
    target = (current + timedelta(days=2)).replace(microsecond=0)

    # When
    response = call_clock(scheduled_stack, "POST", {"set": target.isoformat()})

    # Then: the clock runs on from there, and the nightly run for the new day is done
    assert response.status_code == 200, response.text
    answer = response.json()
    assert timedelta(0) <= parse(answer["now"]) - target < timedelta(seconds=30)
    assert answer["pending"] == []
    nightly = next(f for f in answer["fired"] if f["event"] == "Nightly")
    assert timedelta(0) <= target - parse(nightly["fired_for"]) < timedelta(days=1)


def test_the_clock_never_moves_backwards(scheduled_stack: dict[str, Any]) -> None:
    # Given
    before = read_clock(scheduled_stack)
    earlier = parse(before["now"]) - timedelta(hours=1)

    # When: the operator asks for an earlier time, or a negative step
    to_earlier = call_clock(scheduled_stack, "POST", {"set": earlier.isoformat()})
    negative = call_clock(scheduled_stack, "POST", {"advance_seconds": -60})

    # Then: both are refused and the clock is where it was
    assert to_earlier.status_code == 400
    assert to_earlier.json()["code"] == "clock_backwards"
    assert negative.status_code == 400
    assert negative.json()["code"] == "clock_backwards"
    assert read_clock(scheduled_stack)["offset_seconds"] == before["offset_seconds"]


@pytest.mark.parametrize(
    "body",
    ["not json", {}, {"advance_seconds": "60"}, {"set": "next tuesday"}, {"rewind": 60}],
)
def test_a_body_that_is_not_a_clock_move_is_refused(
    scheduled_stack: dict[str, Any], body: Any
) -> None:
    response = call_clock(scheduled_stack, "POST", body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_clock_request"


# ---------------------------------------------------------------- template.yaml's stack


def test_the_operator_can_read_the_time_of_the_real_stack(stack: dict[str, Any]) -> None:
    # When: the operator asks the stack built from template.yaml, and a caller without the token
    answer = read_clock(stack)
    anonymous = call_clock(stack, "POST", {"advance_seconds": 0}, as_operator=False)
    # Advancing by nothing moves no time, so the session's other tests still run at real time.
    unmoved = call_clock(stack, "POST", {"advance_seconds": 0})

    # Then: its own admin token opens the route, and the time is real time
    assert abs((parse(answer["now"]) - datetime.now(UTC)).total_seconds()) < 5
    assert anonymous.status_code == 401
    assert unmoved.status_code == 200, unmoved.text
    assert unmoved.json()["offset_seconds"] == answer["offset_seconds"] == 0
    assert unmoved.json()["pending"] == []
