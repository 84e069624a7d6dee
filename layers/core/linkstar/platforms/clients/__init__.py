"""Order enrichment: marketplace notifications carry ids and statuses, not amounts, so LinkStar
fetches the order from the platform's API.

``fetch_order(store, external_id, hints)`` answers a canonical
:class:`~linkstar.orders.models.Order` with its amounts (``amounts_pending`` False) or raises:

- :class:`PermanentMarketplaceError` (a :class:`~linkstar.errors.PermanentError`: dead-letter it)
  with ``code`` ``order_not_found``, ``credentials_rejected``, ``credentials_missing``,
  ``unknown_marketplace``, ``marketplace_bad_request`` or ``unexpected_response``; an unknown
  platform status raises the lifecycle's ``unknown_status``;
- :class:`TransientMarketplaceError` (``marketplace_throttled`` / ``marketplace_unavailable``)
  when the platform kept failing or throttling past the retries: let the queue retry;
- :class:`AmountsNotYetAvailable` (transient) when the platform has no prices yet (an Amazon
  ``Pending`` order): the next status notification asks again.

``hints`` come from the notification: ``marketplace_id`` (Amazon), ``site`` (Lazada) and
``market`` (the ISO country, used when the others are missing; else the store's market).

Modules: ``http`` (retries, rate limits, errors, ``CALLS``), ``credentials`` (Secrets Manager and
token refresh), ``config`` (endpoints), one module per platform. The local fake of all four APIs
is ``infra.local.marketplaces``.

``CALLS[platform][operation]`` counts the HTTP requests sent (retries and token refreshes
included); ``calls_snapshot()`` copies it and ``reset_calls()`` empties it.
"""

from __future__ import annotations

from collections.abc import Mapping

from linkstar.orders.models import Order, Platform
from linkstar.platforms.clients.http import (
    CALLS,
    AmountsNotYetAvailable,
    HttpClient,
    MarketplaceError,
    PermanentMarketplaceError,
    TransientMarketplaceError,
    calls_snapshot,
    reset_calls,
)
from linkstar.stores.models import Store

__all__ = [
    "CALLS",
    "AmountsNotYetAvailable",
    "MarketplaceError",
    "PermanentMarketplaceError",
    "TransientMarketplaceError",
    "calls_snapshot",
    "fetch_order",
    "reset_calls",
]


def fetch_order(
    store: Store,
    external_id: str,
    hints: Mapping[str, str] | None = None,
    *,
    http: HttpClient | None = None,
) -> Order:
    """The order as the store's marketplace describes it now, amounts included."""
    hints = hints or {}
    # Each platform module loads only when its platform is asked for.
    if store.platform is Platform.AMAZON:
        from linkstar.platforms.clients import amazon

        return amazon.fetch_order(store, external_id, hints, http=http)
    if store.platform is Platform.TIKTOK_SHOP:
        from linkstar.platforms.clients import tiktok_shop

        return tiktok_shop.fetch_order(store, external_id, hints, http=http)
    if store.platform is Platform.SHOPEE:
        from linkstar.platforms.clients import shopee

        return shopee.fetch_order(store, external_id, hints, http=http)
    if store.platform is Platform.LAZADA:
        from linkstar.platforms.clients import lazada

        return lazada.fetch_order(store, external_id, hints, http=http)
    # Shopify webhooks carry the whole order: there is nothing to fetch.
    raise PermanentMarketplaceError(
        f"{store.platform.value} orders are not enriched",
        platform=store.platform.value,
        operation="fetchOrder",
        code="enrichment_unsupported",
    )
