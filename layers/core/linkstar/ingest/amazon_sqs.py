"""SP-API notifications: Amazon writes them to our SQS queue itself, with no envelope and no
store id. The SellerId inside routes each one to its store (``stores.find_amazon_seller``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from linkstar import ids
from linkstar.ingest.envelope import DeliveryMeta, body_digest
from linkstar.platforms import amazon


def is_notification(body: str) -> bool:
    return '"NotificationType"' in body


def meta_for(body: str) -> DeliveryMeta:
    """The envelope our webhook edge would have written, built from the notification itself.
    Tenant and store stay empty until the SellerId is matched to a store."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise ValueError("SP-API message body is not JSON") from exc
    if not isinstance(payload, dict) or "NotificationType" not in payload:
        raise ValueError("not an SP-API notification")
    notification_id = amazon.notification_id(payload)
    return DeliveryMeta(
        delivery_id=ids.new_delivery_id(),
        platform="amazon",
        tenant_id="",
        store_id="",
        topic=str(payload["NotificationType"]),
        received_at=datetime.now(UTC).isoformat(),
        event_id=notification_id,
        triggered_at=amazon.event_time(payload),
        api_version=payload.get("PayloadVersion"),
        shop_domain=amazon.seller_id(payload),
        body_sha256=None if notification_id else body_digest(body.encode()),
    )
