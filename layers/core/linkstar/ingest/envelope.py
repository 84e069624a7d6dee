"""The delivery envelope: the raw body as the SQS message body, its metadata in one message
attribute (``delivery``, JSON). Bodies too large for comfort in SQS are parked in S3 (claim
check) and the message carries the object key instead.

Stdlib only: the webhook edge imports this on every cold start.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Any

ATTRIBUTE = "delivery"
PARKED_BODY = "(parked in S3)"
INLINE_LIMIT = 200 * 1024


@dataclass(frozen=True)
class DeliveryMeta:
    delivery_id: str
    platform: str
    tenant_id: str
    store_id: str
    topic: str
    received_at: str
    event_id: str | None = None
    webhook_id: str | None = None
    triggered_at: str | None = None
    api_version: str | None = None
    shop_domain: str | None = None
    body_sha256: str | None = None
    body_s3_key: str | None = None
    # Set only on dead letters: why, when, after how many attempts.
    dlq_code: str | None = None
    dlq_reason: str | None = None
    failed_at: str | None = None
    attempts: int | None = None

    @property
    def dedupe_key(self) -> str:
        """The platform's own id for the event: a redelivery carries the same one."""
        natural = self.event_id or self.webhook_id or self.body_sha256 or self.delivery_id
        return f"{self.platform}:{self.store_id}:{self.topic}:{natural}"

    def to_attribute(self) -> dict[str, Any]:
        fields = {k: v for k, v in asdict(self).items() if v is not None}
        return {ATTRIBUTE: {"DataType": "String", "StringValue": json.dumps(fields)}}

    def for_replay(self) -> DeliveryMeta:
        return replace(self, dlq_code=None, dlq_reason=None, failed_at=None, attempts=None)

    @classmethod
    def from_json(cls, text: str) -> DeliveryMeta:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def meta_from_record(record: dict[str, Any]) -> DeliveryMeta:
    """Read the envelope from a Lambda SQS record (lower-case ``stringValue``) or a raw
    ReceiveMessage message (``StringValue``)."""
    attributes = record.get("messageAttributes") or record.get("MessageAttributes") or {}
    attribute = attributes.get(ATTRIBUTE) or {}
    text = attribute.get("stringValue") or attribute.get("StringValue")
    if not text:
        raise ValueError("message has no delivery attribute")
    return DeliveryMeta.from_json(text)
