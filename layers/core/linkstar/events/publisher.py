"""Relay outbox items from the table's stream to the EventBridge bus.

Each event goes out with ``source`` ``linkstar`` and ``detail-type`` the event name
(``order.placed``, ...); the detail carries ``event_id`` so consumers can drop the rare
duplicate (a stream record retried after a partial PutEvents failure).
"""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from linkstar import aws
from linkstar.settings import get_settings

SOURCE = "linkstar"
_deserializer = TypeDeserializer()


def _entry(record: dict[str, Any]) -> dict[str, Any] | None:
    image = record.get("dynamodb", {}).get("NewImage")
    if not image:
        return None
    item = {k: _deserializer.deserialize(v) for k, v in image.items()}
    if item.get("type") != "event":
        return None
    detail = json.loads(item["detail"])
    detail.update(event_id=item["event_id"], occurred_at=item.get("occurred_at"))
    return {
        "Source": SOURCE,
        "DetailType": item["detail_type"],
        "Detail": json.dumps(detail, default=str),
        "EventBusName": get_settings().event_bus_name,
    }


def publish(records: list[dict[str, Any]]) -> list[str]:
    """Publish the records' events in batches of ten. Returns the sequence numbers of the
    records to retry (Lambda resumes from the lowest one)."""
    pending = [(r["dynamodb"]["SequenceNumber"], _entry(r)) for r in records]
    entries = [(seq, e) for seq, e in pending if e is not None]
    failed: list[str] = []
    events = aws.client("events")
    for start in range(0, len(entries), 10):
        chunk = entries[start : start + 10]
        answer = events.put_events(Entries=[entry for _, entry in chunk])
        if answer.get("FailedEntryCount"):
            for (seq, _), result in zip(chunk, answer["Entries"], strict=False):
                if result.get("ErrorCode"):
                    failed.append(seq)
    return failed
