"""The outreach queues: one send queue per channel and the flow queue (bus events, timer
resumes, bounce fallbacks). Bodies are small JSON references; content lives in the table."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from linkstar import aws
from linkstar.outreach.models import Channel, SendRequest
from linkstar.settings import get_settings, require


def channel_queue_url(channel: Channel) -> str:
    settings = get_settings()
    url = {
        "email": settings.email_queue_url,
        "sms": settings.sms_queue_url,
        "whatsapp": settings.whatsapp_queue_url,
        "in_app": settings.in_app_queue_url,
    }[channel]
    return require(url, f"{channel.upper()}_QUEUE_URL")


def _send_batches(url: str, bodies: list[str]) -> None:
    sqs = aws.client("sqs")
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        answer = sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)],
        )
        if answer.get("Failed"):
            # Raising makes the caller's delivery retry; every consumer dedupes on its ids.
            raise RuntimeError(f"{len(answer['Failed'])} messages were not queued")


def enqueue_sends(requests: Iterable[SendRequest]) -> None:
    by_channel: dict[Channel, list[str]] = {}
    for request in requests:
        by_channel.setdefault(request.channel, []).append(request.model_dump_json())
    for channel, bodies in by_channel.items():
        _send_batches(channel_queue_url(channel), bodies)


def enqueue_flow_work(bodies: Iterable[dict[str, Any]]) -> None:
    encoded = [json.dumps(body, sort_keys=True, default=str) for body in bodies]
    if encoded:
        _send_batches(require(get_settings().flow_queue_url, "FLOW_QUEUE_URL"), encoded)
