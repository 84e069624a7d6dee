"""The TikTok Shop, Shopee, Lazada and Amazon adapters against the platforms' published examples.

Shared fixtures (``../shared/fixtures``) are used as they are; the extra examples found for these
adapters live in ``tests/fixtures/marketplaces`` (see its SOURCES.md). Variations are made on
in-memory copies, each saying what changed.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from linkstar.errors import IgnoredEvent, PermanentError
from linkstar.orders import state as S
from linkstar.orders.models import (
    STATUS_FIELDS,
    FulfillmentAdded,
    InventorySnapshot,
    Order,
    OrderSnapshot,
    OrderStatus,
    Platform,
)
from linkstar.platforms import amazon, lazada, shopee, tiktok_shop
from linkstar.stores.models import Store

from tests.support import fixture_json

OWN_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "marketplaces"
TENANT = "tsample0000a"
STORE_ID = f"{TENANT}-ssample01"


def own_fixture(relative: str) -> Any:
    return json.loads((OWN_FIXTURES / relative).read_text())


def make_store(platform: Platform, market: str = "US", currency: str | None = "USD") -> Store:
    return Store(
        tenant_id=TENANT,
        store_id=STORE_ID,
        platform=platform,
        external_id="7494049642642441621",
        market=market,
        currency=currency,
        webhook_secrets=("x" * 16,),
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def order_of(change: object) -> Order:
    assert isinstance(change, OrderSnapshot)
    return change.order


def raises(code: str, call: Any, *args: Any) -> PermanentError:
    with pytest.raises(PermanentError) as caught:
        call(*args)
    assert caught.value.code == code, caught.value.message
    return caught.value


def ignored(call: Any, *args: Any) -> None:
    """Acknowledged, not applied: the processor counts an ``IgnoredEvent`` as ignored rather
    than dead-lettering it, so the class is what matters, not only the code."""
    with pytest.raises(IgnoredEvent):
        call(*args)


# ================================================================== TikTok Shop


def test_tiktok_order_status_change_fixture_is_a_status_only_snapshot() -> None:
    # Given the documented type 1 event (an UNPAID order) and a US store
    payload = fixture_json("tiktok_shop/order_status_change.json")
    store = make_store(Platform.TIKTOK_SHOP)

    # When it is normalised
    order = order_of(tiktok_shop.normalise("1", payload, store))

    # Then it knows the status and nothing of the amounts
    assert order.platform is Platform.TIKTOK_SHOP
    assert order.external_id == "576486316948490001"
    assert (order.status, order.platform_status) == (OrderStatus.PENDING, "UNPAID")
    assert order.updated_at == at("2022-02-09T13:21:25+00:00")  # data.update_time 1644412885
    assert order.created_at == order.updated_at
    assert (order.currency, order.total, order.subtotal) == ("USD", Decimal("0.00"), Decimal("0"))
    assert order.amounts_pending and not order.paid
    assert order.cancelled_at is None
    assert order.market == "US"


def test_tiktok_status_time_falls_back_to_the_push_timestamp() -> None:
    # Given the type 1 example without data.update_time, pushed at another second
    payload = fixture_json("tiktok_shop/order_status_change.json")
    del payload["data"]["update_time"]
    payload["timestamp"] = 1644412999

    # When it is normalised
    order = order_of(tiktok_shop.normalise("1", payload, make_store(Platform.TIKTOK_SHOP)))

    # Then the push time stands in
    assert order.updated_at == at("2022-02-09T13:23:19+00:00")


def test_tiktok_cancelled_order_is_unpaid_with_a_cancel_time() -> None:
    # Given the type 1 example for an order now CANCELLED, in a store with no currency set
    payload = fixture_json("tiktok_shop/order_status_change.json")
    payload["data"]["order_status"] = "CANCELLED"
    store = make_store(Platform.TIKTOK_SHOP, market="GB", currency=None)

    # When it is normalised
    order = order_of(tiktok_shop.normalise("1", payload, store))

    # Then it is cancelled at the status time, in the market's default currency
    assert order.status is OrderStatus.CANCELLED
    assert order.cancelled_at == order.updated_at
    assert not order.paid
    assert (order.currency, order.market) == ("GBP", "GB")


def test_tiktok_paid_stages_are_paid() -> None:
    payload = fixture_json("tiktok_shop/order_status_change.json")
    payload["data"]["order_status"] = "IN_TRANSIT"
    order = order_of(tiktok_shop.normalise("1", payload, make_store(Platform.TIKTOK_SHOP)))
    assert (order.status, order.paid, order.fully_fulfilled) == (OrderStatus.FULFILLED, True, True)


def test_tiktok_documented_cancel_word_is_known() -> None:
    payload = fixture_json("tiktok_shop/order_status_change.json")
    payload["data"]["order_status"] = "CANCEL"
    order = order_of(tiktok_shop.normalise("1", payload, make_store(Platform.TIKTOK_SHOP)))
    assert order.status is OrderStatus.CANCELLED


def test_tiktok_pending_cancellation_is_acknowledged_not_applied() -> None:
    # Given the documented type 11 example: a buyer's cancellation request, still pending
    payload = own_fixture("tiktok_shop/cancellation_status_change.json")

    # When it is normalised, Then it is ignored (the order's status is not moved)
    ignored(tiktok_shop.normalise, "11", payload, None)


@pytest.mark.parametrize(
    "cancel_status", ["CANCELLATION_REQUEST_COMPLETE", "CANCELLATION_REQUEST_SUCCESS"]
)
def test_tiktok_accepted_or_completed_cancellation_cancels(cancel_status: str) -> None:
    # Given the type 11 example once the cancellation is accepted or completed
    payload = own_fixture("tiktok_shop/cancellation_status_change.json")
    payload["data"]["cancel_status"] = cancel_status
    store = make_store(Platform.TIKTOK_SHOP)

    # When it is normalised
    order = order_of(tiktok_shop.normalise("11", payload, store))

    # Then the order is cancelled as of the push (type 11 has no update_time; create_time is
    # when the request was made)
    assert order.status is OrderStatus.CANCELLED
    assert order.platform_status == f"cancel:{cancel_status}"
    assert order.updated_at == order.cancelled_at == at("2022-02-09T13:21:25+00:00")
    assert order.amounts_pending


def test_tiktok_pending_return_is_acknowledged_not_applied() -> None:
    payload = own_fixture("tiktok_shop/return_status_change.DERIVED.json")
    ignored(tiktok_shop.normalise, "12", payload, None)


def test_tiktok_completed_return_refunds() -> None:
    # Given the type 12 example once the return or refund is complete
    payload = own_fixture("tiktok_shop/return_status_change.DERIVED.json")
    payload["data"]["return_status"] = "RETURN_OR_REFUND_REQUEST_COMPLETE"

    # When it is normalised
    order = order_of(tiktok_shop.normalise("12", payload, make_store(Platform.TIKTOK_SHOP)))

    # Then the order is refunded, the platform's word kept
    assert order.status is OrderStatus.REFUNDED
    assert order.platform_status == "return:RETURN_OR_REFUND_REQUEST_COMPLETE"
    assert order.paid and order.cancelled_at is None
    assert order.updated_at == at("2022-02-09T13:21:25+00:00")


@pytest.mark.parametrize(
    ("reverse_order_status", "reverse_type", "expected", "word"),
    [
        (51, 1, OrderStatus.CANCELLED, "CANCEL_SUCCESS"),
        (50, 3, OrderStatus.REFUNDED, "AFTERSALE_SUCCESS"),
        (100, 4, OrderStatus.CANCELLED, "COMPLETE"),
        (100, 2, OrderStatus.REFUNDED, "COMPLETE"),
        (1, 2, None, None),
        (99, 3, None, None),
    ],
)
def test_tiktok_legacy_reverse_events_apply_only_final_outcomes(
    reverse_order_status: int, reverse_type: int, expected: OrderStatus | None, word: str | None
) -> None:
    # Given a type 2 push (no published example was found: built on the type 1 envelope with
    # the legacy reverse fields)
    payload = fixture_json("tiktok_shop/order_status_change.json")
    payload["type"] = 2
    payload["data"] = {
        "order_id": "576486316948490001",
        "reverse_order_id": "4035318504086604100",
        "reverse_order_status": reverse_order_status,
        "reverse_type": reverse_type,
        "update_time": 1644412885,
    }

    # When it is normalised, Then only a final outcome becomes a status
    if expected is None:
        ignored(tiktok_shop.normalise, "2", payload, None)
    else:
        order = order_of(tiktok_shop.normalise("2", payload, None))
        assert (order.status, order.platform_status) == (expected, f"reverse:{word}")


def test_tiktok_topic_must_match_the_body_type() -> None:
    payload = fixture_json("tiktok_shop/order_status_change.json")
    raises("invalid_payload", tiktok_shop.normalise, "11", payload, None)


# ================================================================== Shopee


def test_shopee_shop_authorization_push_is_not_ingested() -> None:
    # Given the published code 1 (shop authorisation) push
    payload = fixture_json("shopee/shop_authorization_push_doc_example.json")

    # When it is normalised as its own topic, Then it is not an order topic
    raises("unsupported_topic", shopee.normalise, str(payload["code"]), payload, None)


@pytest.mark.parametrize(
    ("name", "word", "status"),
    [
        ("order_status_push_ready_to_ship.DERIVED.json", "READY_TO_SHIP", OrderStatus.PAID),
        # a buyer's cancellation request the seller may still reject: not cancelled yet
        ("order_status_push_in_cancel.DERIVED.json", "IN_CANCEL", OrderStatus.PAID),
    ],
)
def test_shopee_order_status_push_is_a_status_only_snapshot(
    name: str, word: str, status: OrderStatus
) -> None:
    # Given an Order Status Push (code 3) as relayed by a Shopee partner, and a Thai store
    payload = own_fixture(f"shopee/{name}")
    store = make_store(Platform.SHOPEE, market="TH", currency="THB")

    # When it is normalised
    order = order_of(shopee.normalise("3", payload, store))

    # Then it carries the status, Shopee's word and time, and no amounts
    assert order.platform is Platform.SHOPEE
    assert order.external_id == "230103BWFUSJ1C"
    assert order.status is status
    assert order.platform_status == word
    assert order.updated_at == order.created_at == at("2021-10-10T01:48:12+00:00")
    assert (order.currency, order.total, order.market) == ("THB", Decimal("0.00"), "TH")
    assert order.amounts_pending and order.paid


def test_shopee_tracking_number_push_adds_a_fulfillment() -> None:
    # Given an Order TrackingNo Push (code 4). No published example was found: it is built from
    # the documented fields (ordersn, package_number, forder_id, tracking_no) on the envelope of
    # the code 3 example
    payload = own_fixture("shopee/order_status_push_ready_to_ship.DERIVED.json")
    payload["code"] = 4
    payload["data"] = {
        "ordersn": "230103BWFUSJ1C",
        "forder_id": "6040125461730197000",
        "package_number": "OFG163383049211",
        "tracking_no": "TH0123456789",
    }

    # When it is normalised
    change = shopee.normalise("4", payload, make_store(Platform.SHOPEE, "TH", "THB"))

    # Then one fulfillment is added for the package, at the push time
    assert isinstance(change, FulfillmentAdded)
    assert change.order_external_id == "230103BWFUSJ1C"
    fulfillment = change.fulfillment
    assert fulfillment.fulfillment_id == "OFG163383049211"
    assert (fulfillment.status, fulfillment.tracking_numbers) == ("success", ("TH0123456789",))
    assert fulfillment.created_at == at("2021-10-10T01:48:12+00:00")


def test_shopee_tracking_push_without_package_is_keyed_by_forder_then_tracking_number() -> None:
    payload = {"code": 4, "shop_id": 123456, "timestamp": 1633830492}
    payload["data"] = {"ordersn": "230103BWFUSJ1C", "forder_id": "604", "tracking_no": "TH1"}
    assert shopee.normalise("4", payload).fulfillment.fulfillment_id == "604"
    payload["data"] = {"ordersn": "230103BWFUSJ1C", "tracking_no": "TH1"}
    assert shopee.normalise("4", payload).fulfillment.fulfillment_id == "TH1"


def test_shopee_tracking_push_without_tracking_number_is_invalid() -> None:
    payload = {"code": 4, "timestamp": 1633830492, "data": {"ordersn": "2301", "tracking_no": ""}}
    raises("invalid_payload", shopee.normalise, "4", payload, None)


# ================================================================== Lazada


def test_lazada_returned_line_in_the_shared_fixture_refunds() -> None:
    # Given the published message_type 0 example for a returned item (it names the reverse
    # order too), and a store in another market
    payload = fixture_json("lazada/reverse_order_notification.json")
    store = make_store(Platform.LAZADA, market="SG", currency="SGD")

    # When it is normalised
    order = order_of(lazada.normalise("0", payload, store))

    # Then the order is refunded, in the site's market and currency
    assert order.platform is Platform.LAZADA
    assert order.external_id == "252883361348153"
    assert (order.status, order.platform_status) == (OrderStatus.REFUNDED, "returned")
    assert order.updated_at == at("2020-10-26T09:14:23+00:00")  # status_update_time
    assert (order.market, order.currency, order.total) == ("VN", "VND", Decimal("0"))
    assert order.amounts_pending and order.paid


def test_lazada_trade_order_notification_is_pending() -> None:
    payload = own_fixture("lazada/trade_order_notification.DERIVED.json")
    order = order_of(lazada.normalise("0", payload, None))
    assert (order.status, order.platform_status) == (OrderStatus.PENDING, "unpaid")
    assert order.external_id == "260422900198363"
    assert order.updated_at == at("2020-10-26T07:50:38+00:00")
    assert not order.paid


def test_lazada_push_time_in_milliseconds_stands_in_for_the_status_time() -> None:
    # Given the message_type 0 example without status_update_time (its timestamp is in ms)
    payload = own_fixture("lazada/trade_order_notification.DERIVED.json")
    del payload["data"]["status_update_time"]

    # When it is normalised, Then the push time is read as milliseconds
    order = order_of(lazada.normalise("0", payload, None))
    assert order.updated_at == at("2020-10-27T02:47:39.530000+00:00")


def test_lazada_without_site_uses_the_store() -> None:
    payload = own_fixture("lazada/trade_order_notification.DERIVED.json")
    del payload["site"]
    order = order_of(lazada.normalise("0", payload, make_store(Platform.LAZADA, "MY", None)))
    assert (order.market, order.currency) == ("MY", "MYR")


def test_lazada_unknown_site_is_invalid() -> None:
    payload = own_fixture("lazada/trade_order_notification.DERIVED.json")
    payload["site"] = "arise_es"
    raises("invalid_payload", lazada.normalise, "0", payload, None)


def test_lazada_reverse_request_in_progress_is_acknowledged_not_applied() -> None:
    # Given the published message_type 10 example: a return just initiated (RTM_INIT)
    payload = own_fixture("lazada/reverse_order_status_update.json")

    # When it is normalised, Then it is ignored
    ignored(lazada.normalise, "10", payload, None)


@pytest.mark.parametrize(
    ("reverse_status", "expected"),
    [
        ("REFUND_SUCCESS", OrderStatus.REFUNDED),
        ("CANCEL_SUCCESS", OrderStatus.CANCELLED),
        ("CANCEL_REFUND_ISSUED", OrderStatus.CANCELLED),
    ],
)
def test_lazada_final_reverse_outcomes_apply(reverse_status: str, expected: OrderStatus) -> None:
    # Given the message_type 10 example at a final status
    payload = own_fixture("lazada/reverse_order_status_update.json")
    payload["data"]["reverse_status"] = reverse_status

    # When it is normalised
    order = order_of(lazada.normalise("10", payload, None))

    # Then the status is final, numeric ids read as text, market from the site
    assert order.status is expected
    assert order.platform_status == f"reverse:{reverse_status}"
    assert order.external_id == "416557324702006"
    assert (order.market, order.currency) == ("SG", "SGD")
    assert order.updated_at == at("2021-07-20T07:54:58+00:00")


# ================================================================== Amazon SP-API


def inventory_notification() -> dict[str, Any]:
    """The shared FBA inventory fixture is the schema's Payload example only: it is wrapped here
    in the envelope the schema requires (NotificationVersion, NotificationType, PayloadVersion,
    EventTime, Payload), with NotificationMetadata as in the other SP-API notifications."""
    return {
        "NotificationVersion": "1.0",
        "NotificationType": "FBA_INVENTORY_AVAILABILITY_CHANGES",
        "PayloadVersion": "1.0",
        "EventTime": "2020-07-13T19:42:04.284Z",
        "Payload": fixture_json("amazon_sp/fba_inventory_availability_changes.payload_only.json"),
        "NotificationMetadata": {
            "ApplicationId": "app-id-d0e9e693-c3ad-4373-979f-ed4ec98dd746",
            "SubscriptionId": "subscription-id-d0e9e693-c3ad-4373-979f-ed4ec98dd746",
            "PublishTime": "2020-07-13T19:42:04.284Z",
            "NotificationId": "d0e9e693-c3ad-4373-979f-ed4ec98dd746",
        },
    }


def test_amazon_order_change_fixture() -> None:
    # Given the schema's ORDER_CHANGE example (a buyer asked to cancel an unshipped order)
    payload = fixture_json("amazon_sp/order_change.json")

    # When it is normalised
    order = order_of(amazon.normalise("ORDER_CHANGE", payload, make_store(Platform.AMAZON)))

    # Then status, market, times and items come from the notification; amounts are pending
    assert order.platform is Platform.AMAZON
    assert order.external_id == "903-8868176-2219830"
    assert (order.status, order.platform_status) == (OrderStatus.PAID, "Unshipped")
    assert (order.market, order.currency) == ("US", "USD")
    assert order.created_at == at("2022-07-13T19:42:04.284+00:00")  # PurchaseDate
    assert order.updated_at == at("2022-11-29T19:42:04.284+00:00")  # TimeOfOrderChange
    assert order.source_name == "MFN"
    assert order.amounts_pending and order.paid
    assert order.cancelled_at is None and order.cancel_reason is None
    [item] = order.line_items
    assert (item.line_id, item.sku, item.quantity) == ("OIID34853450", "SellerSKUID1", 10)
    assert (item.unit_price, item.total, order.total) == (Decimal("0.00"),) * 3


def test_amazon_order_change_inside_the_sqs_event_reads_the_same() -> None:
    # Given the (derived) SQS event whose body is the ORDER_CHANGE example
    record = fixture_json("amazon_sp/sqs_event_order_change.DERIVED.json")["Records"][0]
    body = json.loads(record["body"])

    # When the body is normalised, Then it equals the plain fixture's change
    assert amazon.normalise(body["NotificationType"], body) == amazon.normalise(
        "ORDER_CHANGE", fixture_json("amazon_sp/order_change.json")
    )


def test_amazon_order_status_change_fixture() -> None:
    # Given the schema's ORDER_STATUS_CHANGE example (PurchaseDate in epoch milliseconds)
    payload = fixture_json("amazon_sp/order_status_change.json")

    # When it is normalised
    order = order_of(amazon.normalise("ORDER_STATUS_CHANGE", payload))

    # Then the single item is one line, the change time is EventTime
    assert order.external_id == "333-7777777-7777777"
    assert (order.status, order.market, order.currency) == (OrderStatus.PAID, "US", "USD")
    assert order.created_at == at("2020-07-27T20:33:20.633+00:00")
    assert order.updated_at == at("2020-07-13T19:42:04.284+00:00")
    [item] = order.line_items
    assert (item.line_id, item.sku, item.quantity) == ("OIID34853450", "SellerSKUID1", 45)


def test_amazon_status_change_accepts_iso_purchase_date_and_publish_time() -> None:
    # Given the ORDER_STATUS_CHANGE example with an ISO PurchaseDate and no EventTime
    payload = fixture_json("amazon_sp/order_status_change.json")
    payload["Payload"]["OrderStatusChangeNotification"]["PurchaseDate"] = "2020-07-13T10:00:00Z"
    payload["NotificationMetadata"]["PublishTime"] = "2020-07-13T19:43:00Z"
    del payload["EventTime"]

    # When it is normalised
    order = order_of(amazon.normalise("ORDER_STATUS_CHANGE", payload))

    # Then both times are read
    assert order.created_at == at("2020-07-13T10:00:00+00:00")
    assert order.updated_at == at("2020-07-13T19:43:00+00:00")


def test_amazon_cancelled_order_keeps_the_change_reason() -> None:
    payload = fixture_json("amazon_sp/order_change.json")
    payload["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"] = "Canceled"
    order = order_of(amazon.normalise("ORDER_CHANGE", payload))
    assert order.status is OrderStatus.CANCELLED
    assert order.cancelled_at == order.updated_at
    assert order.cancel_reason == "Buyer Requested Cancel"
    assert not order.paid


def test_amazon_null_change_time_falls_back_to_event_time() -> None:
    payload = fixture_json("amazon_sp/order_change.json")
    payload["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]["TimeOfOrderChange"] = None
    order = order_of(amazon.normalise("ORDER_CHANGE", payload))
    assert order.updated_at == at("2020-01-11T00:09:53.109+00:00")


def test_amazon_unknown_marketplace_is_invalid() -> None:
    payload = fixture_json("amazon_sp/order_change.json")
    payload["Payload"]["OrderChangeNotification"]["Summary"]["MarketplaceId"] = "A000NOWHERE"
    error = raises("invalid_payload", amazon.normalise, "ORDER_CHANGE", payload, None)
    assert "unknown marketplace" in error.message


@pytest.mark.parametrize("status", ["Pending", "PendingAvailability", "UpComing"])
def test_amazon_pending_statuses_are_pending(status: str) -> None:
    # "UpComing" is documented in the schema's OrderStatus enum, if rarely seen
    payload = fixture_json("amazon_sp/order_status_change.json")
    payload["Payload"]["OrderStatusChangeNotification"]["OrderStatus"] = status
    order = order_of(amazon.normalise("ORDER_STATUS_CHANGE", payload))
    assert (order.status, order.platform_status, order.paid) == (OrderStatus.PENDING, status, False)


def test_amazon_inventory_change_gives_one_level_per_marketplace() -> None:
    # Given the FBA inventory example in its envelope
    payload = inventory_notification()

    # When it is normalised
    change = amazon.normalise("FBA_INVENTORY_AVAILABILITY_CHANGES", payload)

    # Then each marketplace has its level, breakdowns summed
    assert isinstance(change, InventorySnapshot)
    us, ca = change.levels
    assert (us.sku, us.market, us.marketplace_id) == ("SELLERSKU-1", "US", "ATVPDKIKX0DER")
    assert (us.product_id, us.fnsku, us.title) == ("B00001ABCD", "X001ABCDEF", "Product Title")
    assert (us.fulfillable, us.inbound, us.reserved, us.unfulfillable) == (50, 15, 30, 0)
    assert (ca.market, ca.fulfillable, ca.inbound, ca.reserved) == ("CA", 40, 6, 30)
    assert us.updated_at == ca.updated_at == at("2020-07-13T19:42:04.284+00:00")


def test_amazon_other_notifications_are_not_ingested() -> None:
    payload = fixture_json("amazon_sp/any_offer_changed.json")
    raises("unsupported_topic", amazon.normalise, payload["NotificationType"], payload, None)


def test_amazon_envelope_helpers() -> None:
    change = fixture_json("amazon_sp/order_change.json")
    status = fixture_json("amazon_sp/order_status_change.json")
    inventory = inventory_notification()
    assert amazon.seller_id(change) == "A3TH9S8BH6GOGM"
    assert amazon.seller_id(status) == "AXXXXXXXXXXXXX"
    assert amazon.seller_id(inventory) == "A3TH9S8BH6GOGM"  # directly in Payload
    assert amazon.notification_id(change) == "d0e9e693-c3ad-4373-979f-ed4ec98dd746"
    assert amazon.event_time(change) == "2020-01-11T00:09:53.109Z"
    del status["EventTime"]
    assert amazon.event_time(status) == "2020-07-13T19:42:04.284Z"  # PublishTime
    for junk in (None, [], {"Payload": "x"}, {"NotificationMetadata": 3}):
        assert amazon.seller_id(junk) is None
        assert amazon.notification_id(junk) is None
        assert amazon.event_time(junk) is None


# ================================================================== malformed payloads


def _broken(base: Any, *path: str, value: Any = ..., delete: bool = False) -> Any:
    payload = copy.deepcopy(base)
    target = payload
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return payload


_TIKTOK = fixture_json("tiktok_shop/order_status_change.json")
_TIKTOK_RETURN = own_fixture("tiktok_shop/return_status_change.DERIVED.json")
_TIKTOK_LEGACY = _broken(
    _broken(_TIKTOK, "type", value=2),
    "data",
    value={"order_id": "576486316948490001", "reverse_order_status": 100, "reverse_type": 1},
)
_LAZADA = fixture_json("lazada/reverse_order_notification.json")
_LAZADA_REVERSE = own_fixture("lazada/reverse_order_status_update.json")
_SHOPEE = own_fixture("shopee/order_status_push_ready_to_ship.DERIVED.json")
_AMAZON = fixture_json("amazon_sp/order_change.json")
_AMAZON_STATUS = fixture_json("amazon_sp/order_status_change.json")
_OCN = ("Payload", "OrderChangeNotification")
_OSCN = ("Payload", "OrderStatusChangeNotification")


# Each case names what its message must mention, so a case that trips over an earlier check
# (and so never reaches the one it is about) fails instead of passing for the wrong reason.
@pytest.mark.parametrize(
    ("adapter", "topic", "payload", "mentions"),
    [
        (tiktok_shop, "1", ["not", "an", "object"], "body is not a JSON object"),
        (tiktok_shop, "1", _broken(_TIKTOK, "data", value="oops"), "data is not a JSON object"),
        (tiktok_shop, "1", _broken(_TIKTOK, "data", "order_id", delete=True), "data.order_id"),
        (tiktok_shop, "1", _broken(_TIKTOK, "data", "order_id", value=True), "data.order_id"),
        (tiktok_shop, "1", _broken(_TIKTOK, "data", "order_status", value=7), "order_status"),
        (
            tiktok_shop,
            "1",
            _broken(_TIKTOK, "data", "update_time", value="yesterday"),
            "update_time is not a Unix time",
        ),
        (
            tiktok_shop,
            "1",
            _broken(_TIKTOK, "data", "update_time", value=10**30),
            "update_time is out of range",
        ),
        (tiktok_shop, "11", _broken(_TIKTOK, "type", value=11), "data.cancel_status"),
        (tiktok_shop, "12", _broken(_TIKTOK, "type", value=12), "data.return_status"),
        (tiktok_shop, "1", _broken(_TIKTOK, "type", value=11), "does not match topic"),
        (
            tiktok_shop,
            "2",
            _broken(_TIKTOK_LEGACY, "data", "reverse_order_status", value="soon"),
            "data.reverse_order_status",
        ),
        (shopee, "3", None, "body is not a JSON object"),
        (shopee, "3", _broken(_SHOPEE, "data", "ordersn", delete=True), "data.ordersn"),
        (shopee, "3", _broken(_SHOPEE, "data", "status", delete=True), "data.status"),
        (shopee, "3", _broken(_SHOPEE, "data", "update_time", value=-5), "data.update_time"),
        # a status push sent as code 4: no tracking number
        (shopee, "4", _broken(_SHOPEE, "code", value=4), "data.tracking_no"),
        (lazada, "0", "text", "body is not a JSON object"),
        (
            lazada,
            "0",
            _broken(_LAZADA, "data", "trade_order_id", value={"id": 1}),
            "data.trade_order_id",
        ),
        (
            lazada,
            "0",
            _broken(_LAZADA, "data", "status_update_time", value=False),
            "data.status_update_time",
        ),
        (lazada, "10", _broken(_LAZADA, "message_type", value=10), "data.reverse_status"),
        (amazon, "ORDER_CHANGE", 42, "body is not a JSON object"),
        (
            amazon,
            "ORDER_CHANGE",
            _broken(_AMAZON, "Payload", delete=True),
            "Payload is not a JSON object",
        ),
        (
            amazon,
            "ORDER_CHANGE",
            _broken(_AMAZON, *_OCN, "AmazonOrderId", delete=True),
            "AmazonOrderId",
        ),
        (
            amazon,
            "ORDER_CHANGE",
            _broken(_AMAZON, *_OCN, "Summary", "MarketplaceId", value=None),
            "MarketplaceId",
        ),
        (
            amazon,
            "ORDER_CHANGE",
            _broken(_AMAZON, *_OCN, "Summary", "PurchaseDate", value="May"),
            "'May'",
        ),
        (
            amazon,
            "ORDER_CHANGE",
            _broken(_AMAZON, *_OCN, "Summary", "OrderItems", value={}),
            "OrderItems is not a list",
        ),
        (
            amazon,
            "ORDER_STATUS_CHANGE",
            _broken(_AMAZON_STATUS, "EventTime", value=12),
            "EventTime",
        ),
        (
            amazon,
            "ORDER_STATUS_CHANGE",
            _broken(_AMAZON, "NotificationType", value="X"),
            "does not match topic",
        ),
        (
            amazon,
            "ORDER_STATUS_CHANGE",
            _broken(_AMAZON_STATUS, *_OSCN, "Quantity", value=-1),
            "Quantity is not a count",
        ),
        (
            amazon,
            "FBA_INVENTORY_AVAILABILITY_CHANGES",
            _broken(
                inventory_notification(), "Payload", "FulfillmentInventoryByMarketplace", value=1
            ),
            "FulfillmentInventoryByMarketplace is not a list",
        ),
        (
            amazon,
            "FBA_INVENTORY_AVAILABILITY_CHANGES",
            _broken(inventory_notification(), "EventTime", value="2020-07-13T19:42:04"),
            "EventTime has no UTC offset",
        ),
    ],
)
def test_malformed_payloads_are_invalid(
    adapter: Any, topic: str, payload: Any, mentions: str
) -> None:
    # Given a payload that doesn't fit, When it is normalised, Then it is invalid_payload, and
    # says which part doesn't fit
    error = raises("invalid_payload", adapter.normalise, topic, payload, None)
    assert mentions in error.message


@pytest.mark.parametrize(
    ("adapter", "topic", "payload", "word"),
    [
        (
            tiktok_shop,
            "1",
            _broken(_TIKTOK, "data", "order_status", value="TELEPORTED"),
            "'TELEPORTED'",
        ),
        (
            tiktok_shop,
            "12",
            _broken(_TIKTOK_RETURN, "data", "return_status", value="RETURN_TELEPORTED"),
            "'RETURN_TELEPORTED'",
        ),
        (
            tiktok_shop,
            "2",
            _broken(_TIKTOK_LEGACY, "data", "reverse_order_status", value=77),
            "reverse_order_status 77",
        ),
        (
            tiktok_shop,
            "2",
            _broken(_TIKTOK_LEGACY, "data", "reverse_type", value=9),
            "reverse_type 9",
        ),
        (
            shopee,
            "3",
            _broken(_SHOPEE, "data", "status", value="LOST_IN_SPACE"),
            "'LOST_IN_SPACE'",
        ),
        (
            lazada,
            "0",
            _broken(_LAZADA, "data", "order_status", value="teleported"),
            "'teleported'",
        ),
        (
            lazada,
            "10",
            _broken(_LAZADA_REVERSE, "data", "reverse_status", value="RTM_TELEPORTED"),
            "'RTM_TELEPORTED'",
        ),
        (
            amazon,
            "ORDER_CHANGE",
            _broken(_AMAZON, *_OCN, "Summary", "OrderStatus", value="Teleported"),
            "'Teleported'",
        ),
    ],
)
def test_unknown_statuses_are_unknown_status_naming_the_word(
    adapter: Any, topic: str, payload: Any, word: str
) -> None:
    # Given a well-formed push whose status word the adapter doesn't know, When it is
    # normalised, Then it is unknown_status (not ignored, not invalid) and names the word
    error = raises("unknown_status", adapter.normalise, topic, payload, None)
    assert word in error.message


@pytest.mark.parametrize(
    ("adapter", "topic"),
    [(tiktok_shop, "3"), (shopee, "1"), (lazada, "13"), (amazon, "ANY_OFFER_CHANGED")],
)
def test_other_topics_are_unsupported(adapter: Any, topic: str) -> None:
    raises("unsupported_topic", adapter.normalise, topic, {}, None)


def test_topics_are_the_ones_the_edge_accepts() -> None:
    from linkstar.platforms.edge import SCHEMES

    assert SCHEMES["tiktok_shop"].handled_topics == tiktok_shop.TOPICS
    assert SCHEMES["shopee"].handled_topics == shopee.TOPICS
    assert SCHEMES["lazada"].handled_topics == lazada.TOPICS


# ================================================================== merging


def _full_amazon_order(status: OrderStatus, updated_at: str) -> OrderSnapshot:
    """What enrichment would store: the order API's answer, with amounts."""
    when = at(updated_at)
    return OrderSnapshot(
        order=Order(
            platform=Platform.AMAZON,
            external_id="903-8868176-2219830",
            status=status,
            platform_status="Pending",
            currency="USD",
            subtotal=Decimal("22.50"),
            total=Decimal("25.00"),
            tax=Decimal("2.50"),
            created_at=at("2022-07-13T19:42:04.284+00:00"),
            updated_at=when,
            market="US",
        )
    )


def test_newer_status_only_snapshot_moves_the_status_and_keeps_the_amounts() -> None:
    # Given an order known with its amounts, last updated before the notification's change
    state = S.empty_state(TENANT, STORE_ID, Platform.AMAZON, "903-8868176-2219830", "US")
    state = S.merge(state, _full_amazon_order(OrderStatus.PENDING, "2022-11-01T00:00:00Z")).state

    # When the (newer) ORDER_CHANGE notification arrives
    change = amazon.normalise("ORDER_CHANGE", fixture_json("amazon_sp/order_change.json"))
    result = S.merge(state, change)

    # Then the status moves and the amounts stay
    assert result.outcome == "applied"
    snapshot = result.state.snapshot
    assert (snapshot.status, snapshot.platform_status) == (OrderStatus.PAID, "Unshipped")
    assert snapshot.total == Decimal("25.00") and not snapshot.amounts_pending
    assert snapshot.updated_at == at("2022-11-29T19:42:04.284+00:00")
    assert "paid" in result.state.milestones


def test_older_status_only_snapshot_is_stale() -> None:
    # Given an order known with its amounts as of December, already shipped
    state = S.empty_state(TENANT, STORE_ID, Platform.AMAZON, "903-8868176-2219830", "US")
    state = S.merge(state, _full_amazon_order(OrderStatus.FULFILLED, "2022-12-01T00:00:00Z")).state

    # When the November ORDER_CHANGE notification (Unshipped) arrives late
    change = amazon.normalise("ORDER_CHANGE", fixture_json("amazon_sp/order_change.json"))
    result = S.merge(state, change)

    # Then nothing changes and the delivery is reported stale
    assert result.outcome == "stale"
    assert result.state.snapshot.status is OrderStatus.FULFILLED
    assert result.state.snapshot.total == Decimal("25.00")


def test_marketplace_notifications_fold_in_any_order() -> None:
    # Given a TikTok order's pushes: unpaid, then its cancellation completed a minute later
    unpaid = tiktok_shop.normalise("1", fixture_json("tiktok_shop/order_status_change.json"))
    cancel = own_fixture("tiktok_shop/cancellation_status_change.json")
    cancel["data"]["cancel_status"] = "CANCELLATION_REQUEST_COMPLETE"
    cancel["timestamp"] = 1644412945
    cancelled = tiktok_shop.normalise("11", cancel)

    # When they arrive in either order
    finals = []
    for changes in ([unpaid, cancelled], [cancelled, unpaid]):
        state = S.empty_state(TENANT, STORE_ID, Platform.TIKTOK_SHOP, "576486316948490001", "US")
        for change in changes:
            state = S.merge(state, change).state
        finals.append(state)

    # Then the order ends cancelled either way, with the same status fields
    first, second = (state.snapshot for state in finals)
    for name in STATUS_FIELDS:
        assert getattr(first, name) == getattr(second, name), name
    assert finals[0].status is finals[1].status is OrderStatus.CANCELLED
