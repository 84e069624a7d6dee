"""What every platform adapter shares: one error discipline, and the order a marketplace
notification describes (status only, amounts pending).

Adapters run in the ingest function only (pydantic is fine here, unlike in ``edge``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from linkstar import money
from linkstar.errors import IgnoredEvent, PermanentError
from linkstar.orders.lifecycle import implies_paid
from linkstar.orders.models import Order, OrderStatus, Platform
from linkstar.platforms.marketplaces import default_currency
from linkstar.stores.models import Store


@contextmanager
def reading(where: str, topic: str) -> Iterator[None]:
    """Anything in the payload that doesn't fit becomes a ``PermanentError`` naming where: the
    delivery goes to the DLQ as it is, to be replayed once the adapter is fixed."""
    try:
        yield
    except PermanentError:
        raise
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise PermanentError(
            f"{where}: {loc}: {first['msg']}", code="invalid_payload", topic=topic
        ) from exc
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise PermanentError(f"{where}: {exc}", code="invalid_payload", topic=topic) from exc


def store_market(store: Store | None) -> tuple[str | None, str]:
    """(market, currency) for a body that names neither: the store's."""
    market = store.market if store else None
    return market, (store.currency if store else None) or default_currency(market)


def status_only(
    platform: Platform,
    external_id: str,
    status: OrderStatus,
    platform_status: str,
    at: datetime,
    market: str | None,
    currency: str,
    **details: Any,
) -> Order:
    """The order a notification describes: its status at ``at``, zero totals and
    ``amounts_pending`` (``orders.state.combine`` moves a known order's status without erasing
    its amounts; the processor asks enrichment for them). ``created_at`` is ``at`` unless the
    notification says when the order was placed."""
    zero = money.quantize(Decimal(0), currency)
    cancelled = status is OrderStatus.CANCELLED
    fields: dict[str, Any] = {
        "created_at": at,
        "paid": implies_paid(status),
        "fully_fulfilled": status in (OrderStatus.FULFILLED, OrderStatus.DELIVERED),
        "cancelled_at": at if cancelled else None,
        **details,
    }
    return Order(
        platform=platform,
        external_id=external_id,
        status=status,
        platform_status=platform_status,
        currency=currency,
        subtotal=zero,
        total=zero,
        updated_at=at,
        market=market,
        amounts_pending=True,
        **fields,
    )


def final_outcome(
    platform: str,
    key: str,
    raw: str,
    table: Mapping[str, OrderStatus | None],
    prefix: str,
) -> tuple[OrderStatus, str]:
    """A return or cancellation word → (canonical status, platform status). ``None`` in the table
    means known but not final (a request still open): acknowledged, not applied."""
    word = raw.strip().upper()
    if word not in table:
        raise PermanentError(f"{platform}: unknown {key} {raw!r}", code="unknown_status")
    status = table[word]
    if status is None:
        raise IgnoredEvent(f"{platform}: {key} {word} is not a final outcome")
    return status, f"{prefix}:{word}"
