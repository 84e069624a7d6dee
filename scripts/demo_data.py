"""A realistic order history for the demo across five platforms, built from real purchases.

Who buys, when, how many CDs and for how much comes from the CDNOW data set (real repeat-purchase
behaviour of 23,570 customers, 1997-98). Each customer buys in one home store: one of four
Shopify stores (US, EU, UK, Japan) or one of four marketplace stores (TikTok Shop UK, Shopee
Singapore, Lazada Malaysia, Amazon EU selling on amazon.de, .fr and .co.uk), so about a third
of the purchases become marketplace orders; six currencies in all.

Shopify orders arrive as signed webhooks whose bodies start from real Shopify payloads in
`shared/fixtures/shopify/`; marketplace orders as the notifications each platform sends and the
order its API answers when LinkStar fetches it (`scripts.demo_marketplaces`). The rest is seeded
and deterministic: names, addresses, phones, stores and their credentials, prices, order life
cycles (create → paid → fulfilled or delivered, cancellations, refunds and returns), abandoned
checkouts, and the delivery faults platforms really produce (redeliveries, out-of-order arrival,
topics LinkStar doesn't use).

`build_history()` returns the deliveries in send order, the orders to seed into the local fake of
the marketplaces' APIs, and ground truth computed from the generated data alone, never from
LinkStar, so the demo can check what the platform stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from linkstar.money import minor_units

from scripts.demo_marketplaces import (
    AMAZON,
    AMAZON_SITES,
    FIXTURES,
    LAZADA,
    MARKETPLACE_SPECS,
    OFFER_CHANGES_PER_ORDER,
    SHARED_DIR,
    SHOPEE,
    TIKTOK,
    MarketLife,
    MarketOrder,
    MarketplaceSpec,
    Notice,
    Shop,
    amazon_notification_id,
    amazon_offer_changed,
    fixture,
    life,
    new_uuid,
    shopee_authorization,
)

CDNOW_PATH = SHARED_DIR / "datasets" / "cdnow" / "CDNOW_master_from251.txt"
SHOPIFY_FIXTURES = FIXTURES / "shopify"

API_VERSION = "2026-01"

# The history is "as of" this instant: later events (a fulfilment or refund still to come) are
# not emitted, exactly as a live shop would not have sent them yet.
HISTORY_END = datetime(2026, 11, 20, tzinfo=UTC)
CDNOW_FIRST_DAY = date(1997, 1, 1)
CDNOW_LAST_DAY = date(1998, 6, 30)
# Shift by whole weeks so weekday patterns (weekend dips) survive the move to recent dates.
SHIFT_DAYS = (date(2026, 11, 19) - CDNOW_LAST_DAY).days // 7 * 7
DATE_SHIFT_NOTE = (
    f"Purchase dates are real CDNOW dates ({CDNOW_FIRST_DAY:%b %Y} to {CDNOW_LAST_DAY:%b %Y}) "
    f"shifted forward by {SHIFT_DAYS} days ({SHIFT_DAYS // 7} whole weeks, so weekdays are kept): "
    f"the data set's last day {CDNOW_LAST_DAY.isoformat()} becomes "
    f"{(CDNOW_LAST_DAY + timedelta(days=SHIFT_DAYS)).isoformat()}. Gaps between purchases, "
    "units and amounts are unchanged; times of day, names and addresses are generated."
)

# Illustrative fixed rates (units of store currency per 1 USD), so amounts stay reproducible.
USD_RATES: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "JPY": Decimal("150"),
    "SGD": Decimal("1.35"),
    "MYR": Decimal("4.70"),
}

ORDER_TOPICS = frozenset(
    {"orders/create", "orders/paid", "orders/fulfilled", "orders/updated", "orders/cancelled"}
)
# Topics a shop can still deliver (an old subscription, an app scope) that LinkStar doesn't use.
IGNORED_TOPICS = frozenset({"products/update", "inventory_levels/update"})

# Rates of the life-cycle branches and delivery faults (per order unless stated).
P_CHECKOUT_FIRST = 0.30
P_PENDING = {"us": 0.15, "eu": 0.2, "uk": 0.12, "jp": 0.35}  # bank transfer, konbini
P_CANCEL = 0.03
P_FULFIL = 0.97
P_UPDATE = 0.15
P_RETURN_REFUND = 0.02  # on top of refunds that cancellations of paid orders cause
P_OUT_OF_ORDER = 0.05
P_DUPLICATE = 0.03  # per delivery
CROSS_STORE_SHARE = 0.05  # of customers
ABANDONED_PER_ORDER = 0.075  # about 150 abandoned checkouts for 2,000 orders

# What platform ids and secrets are made of.
LOWER_ALNUM = string.ascii_lowercase + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
MIXED_ALNUM = UPPER_ALNUM + string.ascii_lowercase


# ---------------------------------------------------------------- public types


@dataclass(frozen=True, slots=True)
class DemoStore:
    """One store as the seller connects it (`POST /stores`) and as its platform knows it."""

    key: str
    platform: str  # shopify, tiktok_shop, shopee, lazada, amazon
    # The platform's id for the shop: Shopify domain, TikTok shop_id, Shopee shop_id, Lazada
    # seller_id, Amazon SellerId. Pushes name it; LinkStar checks them against it.
    external_id: str
    name: str
    market: str
    currency: str
    timezone: str
    # What signs the pushes: Shopify app secret, TikTok / Lazada app secret, Shopee partner
    # key; None for Amazon (notifications come through SQS).
    webhook_secret: str | None
    # The app at the platform (marketplaces): TikTok / Lazada app key, Shopee partner id, Amazon
    # LWA client id, and its secret; what the seller's grant is for.
    app_id: str | None = None
    app_secret: str | None = None
    # How the order API names the shop: TikTok's shop_cipher; the external id elsewhere.
    api_shop: str | None = None

    @property
    def app_key(self) -> str | None:
        """What `POST /stores` needs besides the secret: the signed app key."""
        return self.app_id if self.platform in (TIKTOK, LAZADA) else None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook POST, or one SQS message for Amazon. `body` is serialised once: the signature
    covers exactly these bytes."""

    store_key: str
    topic: str  # Shopify topic, TikTok type, Shopee code, Lazada message_type, Amazon type
    event_id: str  # the platform's id for the event; Shopee and Lazada: the body's SHA-256
    webhook_id: str
    triggered_at: str
    body: bytes
    # Deliveries sharing a key must be sent one after another in list order (the customer's
    # email, a marketplace order), so the injected out-of-order cases are the only ones, even
    # with parallel senders.
    ordering_key: str
    api_version: str = API_VERSION
    platform: str = "shopify"


@dataclass(frozen=True, slots=True)
class Seed:
    """A marketplace order as its platform's API answers it: `POST /_fake/orders`."""

    store_key: str
    platform: str
    shop: str  # the fake's name for the shop (DemoStore.api_shop)
    order: dict[str, Any]
    items: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class OrderTruth:
    """One marketplace order as LinkStar must end up showing it (GET /orders)."""

    status: str  # canonical
    total: Decimal
    currency: str
    market: str


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    cdnow_id: str
    email: str
    stores: tuple[str, ...]  # home store first


@dataclass(frozen=True, slots=True)
class StoreTruth:
    """What one store's history contains, counted from the generator's own records."""

    orders: int  # unique orders placed (including those later cancelled)
    cancelled: int
    refunded_orders: int  # orders with at least one refund (cancelled paid orders included)
    refunded: dict[str, Decimal]
    gmv: dict[str, Decimal]  # total_price of non-cancelled orders, gross of refunds
    units: int  # of all orders placed, like `orders`
    deliveries: int  # POSTs sent, duplicates included
    duplicates: int  # deliveries repeating an event id already sent
    out_of_order: int  # order deliveries older than a state of that order already sent
    ignored_topics: int


@dataclass(frozen=True, slots=True)
class Expected:
    stores: dict[str, StoreTruth]
    # Buyers as LinkStar can tell them apart: by email (Shopify, and the relay addresses TikTok
    # Shop and Amazon give), else by the platform's buyer id (Shopee); Lazada names nobody.
    customers: int  # distinct buyers with an order, across stores (LinkStar merges by email)
    repeat_customers: int  # buyers with 2+ orders across stores, cancelled orders included
    cross_store_customers: int
    # Marketplace stores: every order by its platform id, as LinkStar must show it.
    orders_by_store: dict[str, dict[str, OrderTruth]] = field(default_factory=dict)

    def total(self, count: str) -> int:
        """A StoreTruth count (orders, deliveries, duplicates, ...) over all stores."""
        return sum(getattr(s, count) for s in self.stores.values())


@dataclass(frozen=True, slots=True)
class DemoHistory:
    stores: list[DemoStore]
    deliveries: list[Delivery]
    expected: Expected
    customers: list[DemoCustomer]
    first_day: date
    last_day: date
    seeds: list[Seed] = field(default_factory=list)


# Signing: as each platform documents it, written independently of `linkstar.platforms.edge`
# (the unit tests verify every delivery against it).


def _hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def shopify_hmac(secret: str, body: bytes) -> str:
    """X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256 over the raw body."""
    return base64.b64encode(_hmac_sha256(secret, body)).decode()


def delivery_headers(delivery: Delivery, store: DemoStore, webhook_url: str) -> dict[str, str]:
    """The headers of one webhook POST as its platform sends them, signed with the store's
    secret. `webhook_url` is what Shopee signs: the URL as LinkStar handed it out."""
    if store.platform == "shopify":
        # The set Shopify documents (X-Shopify-Name is left out: it is only sent for
        # subscriptions given a name, and LinkStar's are not).
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": delivery.topic,
            "X-Shopify-Hmac-Sha256": shopify_hmac(store.webhook_secret or "", delivery.body),
            "X-Shopify-Shop-Domain": store.external_id,
            "X-Shopify-API-Version": delivery.api_version,
            "X-Shopify-Webhook-Id": delivery.webhook_id,
            "X-Shopify-Triggered-At": delivery.triggered_at,
            "X-Shopify-Event-Id": delivery.event_id,
        }
    if store.platform == AMAZON:
        raise ValueError("Amazon notifications go through SQS, not HTTP")
    # TikTok Shop, Shopee, Lazada: hex(HMAC-SHA256(secret, prefix + raw body)); the prefix is
    # the app key (TikTok Shop, Lazada) or the callback URL and "|" (Shopee).
    prefix = f"{webhook_url}|" if store.platform == SHOPEE else store.app_id or ""
    signature = _hmac_sha256(store.webhook_secret or "", prefix.encode() + delivery.body).hex()
    return {"Content-Type": "application/json", "Authorization": signature}


def format_money(minor: int, currency: str) -> str:
    """Shopify's money string: "12.34", and "1234" for zero-decimal currencies."""
    return f"{to_decimal(minor, currency):f}"


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_units(currency))


def _in_minor(usd: Decimal, currency: str) -> int:
    """A USD amount in `currency`'s minor units at the fixed rate."""
    return _half_up(usd * USD_RATES[currency] * 10 ** minor_units(currency))


# ---------------------------------------------------------------- CDNOW


@dataclass(frozen=True, slots=True)
class CdnowPurchase:
    day: date
    units: int
    usd: Decimal


@dataclass(frozen=True, slots=True)
class CdnowCustomer:
    cdnow_id: str
    purchases: tuple[CdnowPurchase, ...]


def load_cdnow(max_orders: int, path: Path = CDNOW_PATH) -> list[CdnowCustomer]:
    """The first customers in file order until max_orders purchases are reached, each with ALL
    of their purchases, so repeat behaviour stays real (the file is grouped by customer)."""
    grouped: dict[str, list[CdnowPurchase]] = {}
    total = 0
    with path.open(encoding="ascii") as lines:
        next(lines)  # header
        for line in lines:
            cid, day, units, usd = line.split()
            if cid not in grouped:
                if total >= max_orders:
                    break
                grouped[cid] = []
            d = date(int(day[:4]), int(day[4:6]), int(day[6:]))
            grouped[cid].append(CdnowPurchase(d, int(units), Decimal(usd)))
            total += 1
    return [CdnowCustomer(cid, tuple(p)) for cid, p in grouped.items()]


# ---------------------------------------------------------------- markets


@dataclass(frozen=True, slots=True)
class _City:
    name: str
    province: str | None
    province_code: str | None
    zip: str
    tax_rate: Decimal | None = None  # US sales tax differs by place


@dataclass(frozen=True, slots=True)
class _Country:
    code: str
    name: str
    locale: str
    tax_rate: Decimal
    tax_title: str
    carrier: str
    # National significant number: a valid mobile prefix and how many random digits follow.
    phone_prefix: str
    phone_random_digits: int
    cities: tuple[_City, ...]
    streets: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    # Japanese names are shown in kanji; email addresses need a romanisation.
    romaji: dict[str, str] = field(default_factory=dict)


COUNTRIES: dict[str, _Country] = {
    "US": _Country(
        "US", "United States", "en-US", Decimal(0), "State Tax", "UPS",
        "20155501", 2,  # 555-01xx is the range reserved for fiction
        (
            _City("Louisville", "Kentucky", "KY", "40202", Decimal("0.06")),
            _City("Brooklyn", "New York", "NY", "11201", Decimal("0.08875")),
            _City("Austin", "Texas", "TX", "78701", Decimal("0.0825")),
            _City("Seattle", "Washington", "WA", "98101", Decimal("0.1035")),
            _City("San Diego", "California", "CA", "92101", Decimal("0.0775")),
            _City("Chicago", "Illinois", "IL", "60601", Decimal("0.1025")),
        ),
        ("Chestnut Street", "Maple Avenue", "Oak Street", "Park Avenue", "Elm Street"),
        ("James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda",
         "Maria", "Daniel", "Emily", "Kevin"),
        ("Smith", "Johnson", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Wilson",
         "Anderson", "Taylor", "Nguyen", "Brown"),
    ),
    "DE": _Country(
        "DE", "Germany", "de-DE", Decimal("0.19"), "MwSt", "DHL Express", "151234", 5,
        (
            _City("Berlin", None, None, "10115"),
            _City("München", None, None, "80331"),
            _City("Hamburg", None, None, "20095"),
            _City("Köln", None, None, "50667"),
        ),
        ("Hauptstraße", "Schillerstraße", "Gartenweg", "Bahnhofstraße"),
        ("Lukas", "Anna", "Jürgen", "Sophie", "Maximilian", "Lea", "Felix", "Hannah", "Jonas",
         "Marie"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
         "Schäfer", "Koch"),
    ),
    "FR": _Country(
        "FR", "France", "fr-FR", Decimal("0.20"), "TVA", "Colissimo", "61234", 4,
        (
            _City("Paris", None, None, "75001"),
            _City("Lyon", None, None, "69001"),
            _City("Marseille", None, None, "13001"),
            _City("Bordeaux", None, None, "33000"),
        ),
        ("rue de la Paix", "avenue Victor Hugo", "rue Nationale", "boulevard Voltaire"),
        ("Léa", "Hugo", "Chloé", "Louis", "Manon", "Gabriel", "Camille", "Jules", "Inès",
         "Théo"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
         "Leroy", "Moreau"),
    ),
    "GB": _Country(
        "GB", "United Kingdom", "en-GB", Decimal("0.20"), "VAT", "Royal Mail", "74001", 5,
        (
            _City("London", None, None, "EC1A 1BB"),
            _City("Manchester", None, None, "M1 1AE"),
            _City("Bristol", None, None, "BS1 4DJ"),
            _City("Edinburgh", None, None, "EH1 1YZ"),
        ),
        ("High Street", "Station Road", "Church Lane", "Victoria Road"),
        ("Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jack", "Freya", "Charlie",
         "Emily"),
        ("Smith", "Jones", "Williams", "Taylor", "Davies", "Evans", "Thomas", "Roberts",
         "Walker", "Wright"),
    ),
    "JP": _Country(
        "JP", "Japan", "ja-JP", Decimal("0.10"), "消費税", "Yamato (JA)", "9012", 6,
        (
            _City("Shibuya-ku", "Tokyo", "JP-13", "150-0001"),
            _City("Osaka-shi Kita-ku", "Osaka", "JP-27", "530-0001"),
            _City("Fukuoka-shi Chuo-ku", "Fukuoka", "JP-40", "810-0001"),
            _City("Sapporo-shi Chuo-ku", "Hokkaido", "JP-01", "060-0001"),
        ),
        ("Chuo 1-", "Honcho 2-", "Sakae 3-", "Minami 4-"),
        ("翔", "陽菜", "蓮", "結衣", "大翔", "さくら", "悠真", "美咲"),
        ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村"),
        romaji={
            "翔": "sho", "陽菜": "hina", "蓮": "ren", "結衣": "yui", "大翔": "hiroto",
            "さくら": "sakura", "悠真": "yuma", "美咲": "misaki", "佐藤": "sato",
            "鈴木": "suzuki", "高橋": "takahashi", "田中": "tanaka", "伊藤": "ito",
            "渡辺": "watanabe", "山本": "yamamoto", "中村": "nakamura",
        },
    ),
    # Marketplace buyers: platforms pass on little of this (a city, a postcode), but every
    # buyer is a whole person all the same.
    "SG": _Country(
        "SG", "Singapore", "en-SG", Decimal("0.09"), "GST", "SPX Express", "9123", 4,
        (
            _City("Singapore", None, None, "238801"),
            _City("Singapore", None, None, "560123"),
            _City("Singapore", None, None, "520201"),
            _City("Singapore", None, None, "640512"),
        ),
        ("Orchard Road", "Ang Mo Kio Avenue 3", "Tampines Street 81", "Jurong West Street 52"),
        ("Wei Ling", "Jun Jie", "Hui Min", "Zhi Hao", "Siti", "Arjun", "Mei Ling", "Darren"),
        ("Tan", "Lim", "Lee", "Ng", "Wong", "Goh", "Chua", "Rahman"),
    ),
    "MY": _Country(
        "MY", "Malaysia", "ms-MY", Decimal("0.10"), "SST", "J&T Express", "12", 7,
        (
            _City("Kuala Lumpur", None, None, "50450"),
            _City("Petaling Jaya", None, None, "47300"),
            _City("George Town", None, None, "10200"),
            _City("Johor Bahru", None, None, "80000"),
        ),
        ("Jalan Ampang", "Jalan SS 2/24", "Lebuh Chulia", "Jalan Wong Ah Fook"),
        ("Nur Aisyah", "Muhammad Hafiz", "Wei Jie", "Siti Aminah", "Kavitha", "Ahmad Faiz",
         "Mei Xin", "Arif"),
        ("Abdullah", "Tan", "Lim", "Rahman", "Ismail", "Wong", "Raj", "Hassan"),
    ),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _StoreSpec:
    key: str
    shop_domain: str
    name: str
    market: str  # ISO 3166-1 alpha-2: the country the store mainly sells to
    currency: str
    timezone: str
    taxes_included: bool
    countries: tuple[tuple[str, float], ...]  # where its customers live, with weights
    share: float  # of customers who call it home


# The Shopify stores' shares and the marketplaces' (scripts.demo_marketplaces) add up to 1:
# about 62% of customers buy on Shopify, 38% on a marketplace.
STORE_SPECS: tuple[_StoreSpec, ...] = (
    _StoreSpec("us", "acme-us.myshopify.com", "Acme US", "US", "USD", "America/New_York",
               False, (("US", 1.0),), 0.28),
    _StoreSpec("eu", "acme-eu.myshopify.com", "Acme Europe", "DE", "EUR", "Europe/Berlin",
               True, (("DE", 0.65), ("FR", 0.35)), 0.15),
    _StoreSpec("uk", "acme-uk.myshopify.com", "Acme UK", "GB", "GBP", "Europe/London",
               True, (("GB", 1.0),), 0.11),
    _StoreSpec("jp", "acme-jp.myshopify.com", "Acme Japan", "JP", "JPY", "Asia/Tokyo",
               True, (("JP", 1.0),), 0.08),
)  # fmt: skip
_Spec = _StoreSpec | MarketplaceSpec
ALL_SPECS: tuple[_Spec, ...] = (*STORE_SPECS, *MARKETPLACE_SPECS)

# Relative likelihood of a purchase starting in each local hour (evening peak, night trough).
HOUR_WEIGHTS = (
    1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.5, 3.2, 3.6, 4.0,
    4.4, 4.2, 3.8, 3.6, 3.6, 3.8, 4.2, 4.8, 5.2, 5.0, 3.8, 2.0,
)  # fmt: skip

GENRES = ("Jazz", "Rock", "Classical", "Soul", "Blues", "Country", "Hip-Hop", "Electronic")
LABELS = ("Blue Harbor Records", "Northbound Music", "Cedar Lane Audio", "Lantern Sound")
TRACKING_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={}",
    "DHL Express": "https://www.dhl.com/de-en/home/tracking.html?tracking-id={}",
    "Colissimo": "https://www.laposte.fr/outils/suivre-vos-envois?code={}",
    "Royal Mail": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
    "Yamato (JA)": "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number={}",
}
CANCEL_REASONS = ("customer", "customer", "inventory", "fraud", "declined", "other")


def _iso(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).isoformat(timespec="seconds")


def _ascii(text: str) -> str:
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, spelled)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------- internal records


@dataclass(slots=True)
class _Person:
    cdnow: CdnowCustomer
    email: str
    first_name: str
    last_name: str
    country: _Country
    city: _City
    address1: str
    phone: str
    accepts_marketing: bool
    home: str
    second: str | None = None
    # Marketplace buyers: the relay address (TikTok Shop, Amazon) and the platform's buyer id
    # (TikTok user_id, Shopee buyer_user_id), given at the first order.
    buyer_email: str | None = None
    buyer_id: str | None = None


@dataclass(slots=True)
class _Line:
    line_id: int
    product: dict[str, Any]
    quantity: int
    unit_minor: int
    currency: str

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_minor


@dataclass(slots=True)
class _Order:
    person: _Person
    store: _StoreSpec
    purchase: CdnowPurchase
    created: datetime
    lines: list[_Line]
    total: int
    subtotal: int
    tax: int
    tax_rate: Decimal
    order_id: int = 0
    number: int = 0
    customer_id: int = 0
    customer_created: datetime = HISTORY_END
    customer_orders_before: int = 0
    customer_spent_before: int = 0
    first_in_store: bool = False
    cancelled: bool = False
    refunded_minor: int = 0


@dataclass(slots=True)
class _MarketOrder:
    person: _Person
    spec: MarketplaceSpec
    purchase: CdnowPurchase
    created: datetime
    lines: list[_Line]
    total: int  # minor units
    currency: str
    order: MarketOrder | None = None  # set once ids are given, in creation order
    life: MarketLife | None = None


@dataclass(slots=True)
class _Pending:
    send_at: datetime
    seq: int
    delivery: Delivery
    # Set for deliveries carrying an order's state (orders/*, marketplace status pushes), for
    # the staleness check: the order (store:id) and the state's time.
    order_key: str | None = None
    state_at: datetime | None = None
    ignored: bool = False  # a topic or status LinkStar acknowledges and doesn't apply


# ---------------------------------------------------------------- the generator


class _Builder:
    """Shared state of one generation run: the seeded RNG, id sequences, emitted deliveries."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seq = 0
        self.pending: list[_Pending] = []
        self.specs: dict[str, _Spec] = {s.key: s for s in ALL_SPECS}
        self.shopify = {s.key: s for s in STORE_SPECS}
        self.tz = {s.key: ZoneInfo(s.timezone) for s in ALL_SPECS}
        self._last_id: dict[str, int] = {}
        self.catalog = [_product(i) for i in range(24)]

    # -- identifiers: increasing like Shopify's, never repeating within a kind
    def new_id(self, kind: str, start: int) -> int:
        value = self._last_id.get(kind, start) + self.rng.randint(1, 90_000)
        self._last_id[kind] = value
        return value

    def token(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def chars(self, alphabet: str, count: int) -> str:
        return "".join(self.rng.choices(alphabet, k=count))

    # -- people
    def person(self, cdnow: CdnowCustomer, home: str, email_domain: str = "example.com") -> _Person:
        rng = self.rng
        codes, weights = zip(*self.specs[home].countries, strict=True)
        country = COUNTRIES[rng.choices(codes, weights)[0]]
        first, last = rng.choice(country.first_names), rng.choice(country.last_names)
        ascii_first = country.romaji.get(first) or _ascii(first)
        ascii_last = country.romaji.get(last) or _ascii(last)
        street, number = rng.choice(country.streets), rng.randint(1, 180)
        if country.code == "JP":
            address1 = f"{street}{rng.randint(1, 20)}-{number}"
        elif country.code == "DE":
            address1 = f"{street} {number}"
        else:
            address1 = f"{number} {street}"
        return _Person(
            cdnow=cdnow,
            # Unique per CDNOW customer, and on a domain reserved for examples: demo outreach
            # must never reach a real inbox.
            email=f"{ascii_first}.{ascii_last}.{cdnow.cdnow_id}@{email_domain}",
            first_name=first,
            last_name=last,
            country=country,
            city=rng.choice(country.cities),
            address1=address1,
            phone=self.phone(country),
            accepts_marketing=rng.random() < 0.4,
            home=home,
        )

    def phone(self, country: _Country) -> str:
        digits = "".join(str(self.rng.randint(0, 9)) for _ in range(country.phone_random_digits))
        number = phonenumbers.PhoneNumber(
            country_code=phonenumbers.country_code_for_region(country.code),
            national_number=int(country.phone_prefix + digits),
        )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)

    # -- money
    def tax_rate(self, store: _StoreSpec, p: _Person) -> Decimal:
        # Tax is charged where the store sells (sales tax, EU OSS VAT, UK VAT, JCT); a parcel
        # leaving that market is an export and carries none.
        if p.country.code not in {code for code, _ in store.countries}:
            return Decimal(0)
        return p.city.tax_rate if p.city.tax_rate is not None else p.country.tax_rate

    def lines(self, units: int, subtotal: int, currency: str) -> list[_Line]:
        rng = self.rng
        k = rng.randint(1, min(3, units))
        cuts = sorted(rng.sample(range(1, units), k - 1))
        quantities = [b - a for a, b in zip([0, *cuts], [*cuts, units], strict=True)]
        prices = _price_lines(rng, quantities, subtotal)
        if prices is None:  # no exact split in whole minor units: a single extra copy has one
            quantities = [units - 1, 1]
            prices = _price_lines(rng, quantities, subtotal)
            assert prices is not None
        products = rng.sample(self.catalog, len(quantities))
        return [
            _Line(self.new_id("line", 13_800_000_000_000), product, q, price, currency)
            for product, q, price in zip(products, quantities, prices, strict=True)
        ]

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def purchase_time(self, purchase: CdnowPurchase, store: str) -> datetime:
        """When a CDNOW purchase happens in the shifted history, in the store's local time."""
        return self.local_time(purchase.day + timedelta(days=SHIFT_DAYS), store)

    def local_time(self, day: date, store: str) -> datetime:
        rng = self.rng
        hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
        moment = time(hour, rng.randint(0, 59), rng.randint(0, 59))
        return datetime.combine(day, moment, tzinfo=self.tz[store])

    # -- deliveries
    def emit(
        self,
        store: str,
        topic: str,
        at: datetime,
        body: dict[str, Any],
        ordering_key: str,
        order_id: int | None = None,
    ) -> _Pending:
        rng = self.rng
        triggered = at.astimezone(UTC) + timedelta(microseconds=rng.randint(0, 1_500_000))
        nanos = triggered.microsecond * 1000 + rng.randint(0, 999)
        delivery = Delivery(
            store_key=store,
            topic=topic,
            event_id=new_uuid(rng),
            webhook_id=new_uuid(rng),
            triggered_at=f"{triggered:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z",
            body=_serialise(body),
            ordering_key=ordering_key,
        )
        is_order_state = topic in ORDER_TOPICS and order_id is not None
        return self._queue(
            triggered,
            delivery,
            f"{store}:{order_id}" if is_order_state else None,
            at if is_order_state else None,
            topic in IGNORED_TOPICS,
        )

    def emit_notice(
        self, store: DemoStore, notice: Notice, ordering_key: str, order_id: str | None = None
    ) -> _Pending:
        """One marketplace notification: a webhook POST, or an SQS message for Amazon."""
        body = _serialise(notice.body)
        delivery = Delivery(
            store_key=store.key,
            topic=notice.topic,
            # Shopee and Lazada send no id: LinkStar names the delivery by its body's digest.
            event_id=notice.event_id or hashlib.sha256(body).hexdigest(),
            webhook_id="",
            triggered_at=f"{notice.at.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z",
            body=body,
            ordering_key=ordering_key,
            api_version="",
            platform=store.platform,
        )
        is_state = notice.state_at is not None and order_id is not None
        return self._queue(
            notice.at,
            delivery,
            f"{store.key}:{order_id}" if is_state else None,
            notice.state_at,
            notice.ignored,
        )

    def _queue(
        self,
        sent: datetime,
        delivery: Delivery,
        order_key: str | None,
        state_at: datetime | None,
        ignored: bool,
    ) -> _Pending:
        self.seq += 1
        pending = _Pending(
            send_at=sent + timedelta(milliseconds=self.rng.randint(80, 3000)),
            seq=self.seq,
            delivery=delivery,
            order_key=order_key,
            state_at=state_at,
            ignored=ignored,
        )
        self.pending.append(pending)
        return pending


def _serialise(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _product(i: int) -> dict[str, Any]:
    genre = GENRES[i % len(GENRES)]
    volume = i // len(GENRES) + 1
    return {
        "product_id": 7_400_000_000_000 + 1000 * i,
        "variant_id": 42_100_000_000_000 + 1000 * i,
        "sku": f"CD-{genre[:3].upper()}-{volume:03d}",
        "title": f"{genre} Essentials Vol. {volume}",
        "variant_title": "Compact Disc",
        "vendor": LABELS[i % len(LABELS)],
        "genre": genre,
    }


def _price_lines(rng: random.Random, quantities: list[int], subtotal: int) -> list[int] | None:
    """Unit prices in minor units with sum(quantity * price) == subtotal exactly, or None.

    The line with the smallest quantity absorbs the rounding; when its quantity doesn't divide
    the rest, other lines' prices move down one unit at a time until it does."""
    absorber = min(range(len(quantities)), key=quantities.__getitem__)
    q_abs = quantities[absorber]
    weights = [q * rng.uniform(0.75, 1.25) for q in quantities]
    prices = [
        int(subtotal * w / sum(weights)) // q for q, w in zip(quantities, weights, strict=True)
    ]
    prices[absorber] = 0
    rest = subtotal - sum(p * q for p, q in zip(prices, quantities, strict=True))
    for i in range(len(quantities)):
        while i != absorber and rest % q_abs and prices[i] > 0:
            prices[i] -= 1
            rest += quantities[i]
            if rest % q_abs == 0:
                break
    if rest % q_abs:
        return None
    prices[absorber] = rest // q_abs
    return prices


def build_history(max_orders: int = 2000, seed: int = 7) -> DemoHistory:
    """The demo's deliveries for the first CDNOW customers covering about max_orders
    purchases; deterministic for a given (max_orders, seed)."""
    b = _Builder(seed)
    stores = [
        DemoStore(
            s.key,
            "shopify",
            s.shop_domain,
            s.name,
            s.market,
            s.currency,
            s.timezone,
            f"shpss_{b.token()}",
        )
        for s in STORE_SPECS
    ]
    shops: dict[str, Shop] = {}
    for spec in MARKETPLACE_SPECS:
        store, shops[spec.key] = _marketplace_store(b, spec)
        stores.append(store)
    by_key = {s.key: s for s in stores}
    people = _people(b, load_cdnow(max_orders))
    orders, market_orders = _orders(b, people)
    for order in orders:
        _order_life(b, order)
    for mo in market_orders:
        _market_life(b, by_key[mo.spec.key], shops[mo.spec.key], mo)
    days = [o.created.date() for o in orders] + [mo.created.date() for mo in market_orders]
    first_day, last_day = min(days), max(days)
    _abandoned_checkouts(b, people, round(ABANDONED_PER_ORDER * len(orders)), first_day, last_day)
    _ignored_topic_deliveries(b, first_day, last_day)
    _marketplace_extras(b, by_key, shops, market_orders, first_day, last_day)
    _duplicates(b)

    b.pending.sort(key=lambda p: (p.send_at, p.seq))
    return DemoHistory(
        stores=stores,
        deliveries=[p.delivery for p in b.pending],
        expected=_expected(b.pending, stores, orders, market_orders),
        customers=[
            DemoCustomer(
                p.cdnow.cdnow_id,
                p.email,
                (p.home, p.second) if p.second else (p.home,),
            )
            for p in people
        ],
        first_day=first_day,
        last_day=last_day,
        seeds=[
            Seed(
                mo.spec.key,
                mo.spec.platform,
                by_key[mo.spec.key].api_shop or "",
                mo.life.seed["order"],
                mo.life.seed.get("items", []),
            )
            for mo in market_orders
            if mo.life is not None
        ],
    )


def _marketplace_store(b: _Builder, spec: MarketplaceSpec) -> tuple[DemoStore, Shop]:
    """The store as its platform knows it: ids, the app and its secret (shapes as issued)."""
    rng = b.rng
    if spec.platform == TIKTOK:
        shop_id = str(rng.randint(7_494_000_000_000_000_000, 7_494_999_999_999_999_999))
        app_id, secret = b.chars(LOWER_ALNUM, 13), b.token() + b.token()[:8]
        api_shop = "ROW_" + b.chars(MIXED_ALNUM, 30)
    elif spec.platform == SHOPEE:
        shop_id = str(rng.randint(100_000_000, 999_999_999))
        app_id, secret = str(rng.randint(2_000_000, 2_099_999)), b.token() + b.token()
        api_shop = shop_id
    elif spec.platform == LAZADA:
        shop_id = str(rng.randint(1_000_100_000, 1_000_999_999))
        app_id, secret = str(rng.randint(100_000, 139_999)), b.chars(MIXED_ALNUM, 32)
        api_shop = shop_id
    else:
        shop_id = "A" + b.chars(UPPER_ALNUM, 13)
        app_id = "amzn1.application-oa2-client." + b.token()
        secret = "amzn1.oa2-cs.v1." + b.token() + b.token()
        api_shop = shop_id
    shop = Shop(
        spec.platform,
        shop_id,
        application_id=f"amzn1.sellerapps.app.{new_uuid(rng)}" if spec.platform == AMAZON else "",
        subscription_id=new_uuid(rng) if spec.platform == AMAZON else "",
    )
    store = DemoStore(
        key=spec.key,
        platform=spec.platform,
        external_id=shop_id,
        name=spec.name,
        market=spec.market,
        currency=spec.currency,
        timezone=spec.timezone,
        webhook_secret=None if spec.platform == AMAZON else secret,
        app_id=app_id,
        app_secret=secret,
        api_shop=api_shop,
    )
    return store, shop


def _people(b: _Builder, cdnow: list[CdnowCustomer]) -> list[_Person]:
    rng = b.rng
    keys = [s.key for s in ALL_SPECS]
    shares = [s.share for s in ALL_SPECS]
    people = [b.person(c, rng.choices(keys, shares)[0]) for c in cdnow]
    # A cross-store buyer needs a second purchase to place there, so pick among repeaters at
    # the rate that makes CROSS_STORE_SHARE of all customers. Only Shopify customers cross:
    # a marketplace buyer is known by the platform's relay address or id, which no other
    # store shares, so LinkStar could not tell it is the same person anyway.
    shopify = [s.key for s in STORE_SPECS]
    repeaters = [p for p in people if len(p.cdnow.purchases) > 1 and p.home in b.shopify]
    p_cross = min(1.0, CROSS_STORE_SHARE * len(people) / max(1, len(repeaters)))
    for p in repeaters:
        if rng.random() < p_cross:
            others = [k for k in shopify if k != p.home]
            p.second = rng.choices(others, [b.shopify[k].share for k in others])[0]
    return people


def _orders(b: _Builder, people: list[_Person]) -> tuple[list[_Order], list[_MarketOrder]]:
    rng = b.rng
    orders: list[_Order] = []
    market_orders: list[_MarketOrder] = []
    for p in people:
        home = b.specs[p.home]
        if isinstance(home, MarketplaceSpec):
            market_orders += [_market_order(b, p, home, purchase) for purchase in p.cdnow.purchases]
            continue
        picks = [p.home] * len(p.cdnow.purchases)
        if p.second:
            later = range(1, len(picks))
            for i in [i for i in later if rng.random() < 0.5] or [rng.choice(later)]:
                picks[i] = p.second
        for purchase, store_key in zip(p.cdnow.purchases, picks, strict=True):
            orders.append(_order(b, p, b.shopify[store_key], purchase))
    # Shopify numbers orders per shop in creation order, and its ids grow over time.
    orders.sort(key=lambda o: o.created)
    numbers: Counter[str] = Counter()
    customers: dict[tuple[str, str], tuple[int, datetime]] = {}
    spent: dict[tuple[str, str], list[int]] = defaultdict(list)
    for o in orders:
        numbers[o.store.key] += 1
        o.number = 1000 + numbers[o.store.key]
        o.order_id = b.new_id("order", 5_912_000_000_000)
        key = (o.store.key, o.person.email)
        o.first_in_store = key not in customers
        if o.first_in_store:
            # Shopify creates the customer at checkout, a moment before the order.
            since = o.created - timedelta(seconds=rng.randint(20, 120))
            customers[key] = (b.new_id("customer", 7_201_000_000_000), since)
        o.customer_id, o.customer_created = customers[key]
        o.customer_orders_before = len(spent[key])
        o.customer_spent_before = sum(spent[key])
        spent[key].append(o.total)
    market_orders.sort(key=lambda mo: mo.created)
    for mo in market_orders:
        mo.order = _market_identity(b, mo)
    return orders, market_orders


def _market_order(
    b: _Builder, p: _Person, spec: MarketplaceSpec, purchase: CdnowPurchase
) -> _MarketOrder:
    # Amazon: the buyer's own marketplace (amazon.de, .fr, .co.uk) sets the currency.
    currency = AMAZON_SITES[p.country.code].currency if spec.platform == AMAZON else spec.currency
    total = _in_minor(purchase.usd, currency)
    created = b.purchase_time(purchase, spec.key)
    return _MarketOrder(
        person=p,
        spec=spec,
        purchase=purchase,
        created=created.astimezone(UTC),
        lines=b.lines(purchase.units, total, currency),
        total=total,
        currency=currency,
    )


def _market_identity(b: _Builder, mo: _MarketOrder) -> MarketOrder:
    """The order's id as its platform writes them, and the buyer as the platform names them:
    relay addresses on a reserved domain (.example), so demo outreach reaches no real inbox."""
    rng, p, platform = b.rng, mo.person, mo.spec.platform
    if platform == TIKTOK:
        order_id = str(b.new_id("tiktok_order", 576_460_000_000_000_000))
        if p.buyer_id is None:
            p.buyer_id = str(rng.randint(7_000_000_000_000_000_000, 7_099_999_999_999_999_999))
            p.buyer_email = f"{b.chars(LOWER_ALNUM, 28)}@scs.tiktokw.example"
    elif platform == SHOPEE:
        local = mo.created.astimezone(b.tz[mo.spec.key])
        order_id = f"{local:%y%m%d}" + b.chars(UPPER_ALNUM, 8)
        if p.buyer_id is None:
            p.buyer_id = str(rng.randint(100_000_000, 1_999_999_999))
    elif platform == LAZADA:
        order_id = str(b.new_id("lazada_order", 252_883_361_000_000))
    else:
        prefix = rng.choice(("302", "303", "304", "305", "028"))
        order_id = f"{prefix}-{rng.randint(0, 9_999_999):07d}-{rng.randint(0, 9_999_999):07d}"
        if p.buyer_email is None:
            p.buyer_email = f"{b.chars(string.ascii_lowercase, 16)}@marketplace.amazon.example"
    site = AMAZON_SITES.get(p.country.code) if platform == AMAZON else None
    return MarketOrder(
        platform=platform,
        order_id=order_id,
        created=mo.created,
        lines=tuple(
            (
                ln.product["sku"],
                ln.product["title"],
                ln.quantity,
                to_decimal(ln.unit_minor, ln.currency),
            )
            for ln in mo.lines
        ),
        total=to_decimal(mo.total, mo.currency),
        currency=mo.currency,
        country=p.country.code,
        city=p.city.name,
        postal_code=p.city.zip,
        buyer_email=p.buyer_email if platform in (TIKTOK, AMAZON) else None,
        buyer_id=p.buyer_id if platform in (TIKTOK, SHOPEE) else None,
        marketplace_id=site.marketplace_id if site else None,
    )


def _market_life(b: _Builder, store: DemoStore, shop: Shop, mo: _MarketOrder) -> None:
    """All notifications of one marketplace order, and the order its API answers after them."""
    assert mo.order is not None
    mo.life = life(b.rng, shop, mo.order, HISTORY_END)
    ordering_key = f"{store.key}:{mo.order.order_id}"
    states = []
    for notice in mo.life.notices:
        pending = b.emit_notice(store, notice, ordering_key, mo.order.order_id)
        if notice.state_at is not None:
            states.append(pending)
    _shuffle_some(b, states)


def _marketplace_extras(
    b: _Builder,
    stores: dict[str, DemoStore],
    shops: dict[str, Shop],
    market_orders: list[_MarketOrder],
    first_day: date,
    last_day: date,
) -> None:
    """What marketplaces send besides orders, which LinkStar acknowledges and doesn't apply:
    Shopee's shop authorisation push (when the seller connected the app, before the first
    order) and Amazon's ANY_OFFER_CHANGED (competitors' price changes on our listings)."""
    rng = b.rng
    for spec in MARKETPLACE_SPECS:
        store, shop = stores[spec.key], shops[spec.key]
        if spec.platform == SHOPEE:
            at = datetime.combine(first_day - timedelta(days=3), time(10, 12), b.tz[spec.key])
            body = shopee_authorization(int(shop.shop_id), at)
            b.emit_notice(store, Notice(at, "1", body, None, ignored=True), f"{spec.key}:shop")
        if spec.platform == AMAZON:
            mine = sum(1 for mo in market_orders if mo.spec.key == spec.key)
            for _ in range(max(1, round(OFFER_CHANGES_PER_ORDER * mine))):
                day = b.day_between(first_day, last_day)
                at = b.local_time(day, spec.key).astimezone(UTC)
                country = rng.choice(sorted(AMAZON_SITES))
                site, product = AMAZON_SITES[country], rng.choice(b.catalog)
                asin = "B0" + str(int(hashlib.sha256(product["sku"].encode()).hexdigest(), 16))[:8]
                body = amazon_offer_changed(rng, shop, at, site.marketplace_id, asin, site.currency)
                notice = Notice(
                    at, "ANY_OFFER_CHANGED", body, amazon_notification_id(body), ignored=True
                )
                b.emit_notice(store, notice, f"{spec.key}:offers:{asin}")


def _order(b: _Builder, p: _Person, store: _StoreSpec, purchase: CdnowPurchase) -> _Order:
    currency = store.currency
    total = _in_minor(purchase.usd, currency)
    rate = b.tax_rate(store, p)
    subtotal, tax = _split_tax(total, rate, store.taxes_included)
    return _Order(
        person=p,
        store=store,
        purchase=purchase,
        created=b.purchase_time(purchase, store.key),
        lines=b.lines(purchase.units, subtotal, currency),
        total=total,
        subtotal=subtotal,
        tax=tax,
        tax_rate=rate,
    )


def _split_tax(total: int, rate: Decimal, taxes_included: bool) -> tuple[int, int]:
    """(subtotal, tax) for a price the customer pays in full: with tax-inclusive prices the
    subtotal is the total and the tax a part of it; otherwise tax comes on top of it."""
    net = _half_up(Decimal(total) / (1 + rate))
    return (total if taxes_included else net), total - net


def _order_life(b: _Builder, o: _Order) -> None:
    """All deliveries of one order, each body the order's state at that moment."""
    rng = b.rng
    key, tz, email = o.store.key, b.tz[o.store.key], o.person.email
    checkout_id, checkout_token = b.new_id("checkout", 36_100_000_000_000), b.token()
    if rng.random() < P_CHECKOUT_FIRST:
        at = o.customer_created - timedelta(seconds=rng.randint(120, 2400))
        customer_id = None if o.first_in_store else o.customer_id
        body = _checkout_body(
            b, o.store, o.person, at, checkout_id, checkout_token, o.lines, customer_id, o.tax
        )
        b.emit(key, "checkouts/create", at, body, email)
    if o.first_in_store:
        b.emit(key, "customers/create", o.customer_created, _customer_body(o, tz), email)

    base = _order_base(b, o, checkout_id, checkout_token)
    pending = rng.random() < P_PENDING[key] and o.total > 0
    delay = rng.randint(3600, 3 * 86400) if pending else rng.randint(2, 20)
    paid_at = o.created + timedelta(seconds=delay)
    state: dict[str, Any] = {
        "financial_status": "pending" if pending else "paid",
        "gateway": "manual" if pending else "shopify_payments",
        "fulfillment_status": None,
        "fulfillments": [],
        "line_items": [_line_item(ln, None) for ln in o.lines],
        "cancelled_at": None,
        "cancel_reason": None,
        "closed_at": None,
        "note": None,
    }
    emitted: list[_Pending] = []

    def send(topic: str, at: datetime, **changes: Any) -> None:
        if at >= HISTORY_END:
            return
        state.update(changes)
        body = {**base, **state, "updated_at": _iso(at, tz)}
        emitted.append(b.emit(key, topic, at, body, email, o.order_id))

    send("orders/create", o.created)
    cancel = rng.random() < P_CANCEL and o.total > 0
    if cancel and pending:
        # Cancelled before the money arrived: the payment is voided and nothing is refunded.
        _cancel(b, o, send, o.created + (paid_at - o.created) * rng.uniform(0.2, 0.8), "voided")
    elif paid_at < HISTORY_END:
        send("orders/paid", paid_at, financial_status="paid")
        if cancel:
            at = paid_at + timedelta(seconds=rng.randint(900, 72_000))
            if _cancel(b, o, send, at, "refunded"):
                _refund(b, o, at + timedelta(seconds=rng.randint(5, 60)), o.lines)
        else:
            _fulfil_and_after(b, o, send, paid_at)
    _shuffle_some(b, emitted)


_Send = Callable[..., None]


def _cancel(b: _Builder, o: _Order, send: _Send, at: datetime, financial_status: str) -> bool:
    if at >= HISTORY_END:
        return False
    o.cancelled = True
    stamp = _iso(at, b.tz[o.store.key])
    reason = b.rng.choice(CANCEL_REASONS)
    send(
        "orders/cancelled",
        at,
        cancelled_at=stamp,
        closed_at=stamp,
        cancel_reason=reason,
        financial_status=financial_status,
    )
    return True


def _fulfil_and_after(b: _Builder, o: _Order, send: _Send, paid_at: datetime) -> None:
    rng = b.rng
    fulfilled_at = paid_at + timedelta(seconds=rng.randint(4 * 3600, 4 * 86400))
    fulfils = rng.random() < P_FULFIL and fulfilled_at < HISTORY_END
    if rng.random() < P_UPDATE:
        if fulfils:
            at = paid_at + (fulfilled_at - paid_at) * rng.uniform(0.1, 0.6)
        else:
            at = paid_at + timedelta(seconds=rng.randint(600, 86400))
        note = rng.choice(("Gift wrap, please", "Leave at the door", "Call before delivery"))
        send("orders/updated", at, note=note)
    if not fulfils:
        return
    lines = [_line_item(ln, "fulfilled") for ln in o.lines]
    send(
        "orders/fulfilled",
        fulfilled_at,
        fulfillment_status="fulfilled",
        fulfillments=[_fulfillment(b, o, fulfilled_at, lines)],
        line_items=lines,
    )
    if o.total == 0 or rng.random() >= P_RETURN_REFUND:
        return
    refund_at = fulfilled_at + timedelta(seconds=rng.randint(3 * 86400, 30 * 86400))
    if refund_at >= HISTORY_END:
        return
    partial = len(o.lines) > 1 and rng.random() < 0.6
    _refund(b, o, refund_at, [rng.choice(o.lines)] if partial else o.lines)
    status = "partially_refunded" if o.refunded_minor < o.total else "refunded"
    at = refund_at + timedelta(seconds=rng.randint(3, 30))
    send("orders/updated", at, financial_status=status)


def _shuffle_some(b: _Builder, emitted: list[_Pending]) -> None:
    """Make about P_OUT_OF_ORDER of orders arrive out of order, as Shopify allows: a later state
    overtakes orders/create, or an older state turns up after a newer one."""
    rng = b.rng
    if len(emitted) < 2 or rng.random() >= P_OUT_OF_ORDER:
        return
    # i = 0: e.g. orders/paid before orders/create; later: e.g. orders/paid after fulfilled.
    i = 0 if len(emitted) == 2 or rng.random() < 0.4 else rng.randint(1, len(emitted) - 2)
    emitted[i].send_at = emitted[i + 1].send_at + timedelta(seconds=rng.randint(1, 60))


def _money_fields(lines: list[_Line], subtotal: int, tax: int, total: int) -> dict[str, Any]:
    currency = lines[0].currency
    return {
        "subtotal_price": format_money(subtotal, currency),
        "total_line_items_price": format_money(subtotal, currency),
        "total_price": format_money(total, currency),
        "total_tax": format_money(tax, currency),
        "currency": currency,
    }


def _order_base(b: _Builder, o: _Order, checkout_id: int, checkout_token: str) -> dict[str, Any]:
    """The parts of the order body that don't change over its life."""
    template = fixture("shopify/orders_create.json")
    p, currency, tz = o.person, o.store.currency, b.tz[o.store.key]
    created = _iso(o.created, tz)
    address = _address(p)
    customer = {
        **template["customer"],
        **_customer(o, tz),
        "last_order_id": o.order_id,
        "last_order_name": f"#{o.number}",
        "orders_count": o.customer_orders_before + 1,
        "total_spent": format_money(o.customer_spent_before + o.total, currency),
        "updated_at": created,
    }
    shipping = {**template["shipping_lines"][0], "price": format_money(0, currency)}
    return {
        **template,
        **_money_fields(o.lines, o.subtotal, o.tax, o.total),
        "buyer_accepts_marketing": p.accepts_marketing,
        "cart_token": b.token(),
        "checkout_token": checkout_token,
        "checkout_id": checkout_id,
        "confirmed": True,
        "created_at": created,
        "processed_at": created,
        "email": p.email,
        "id": o.order_id,
        "name": f"#{o.number}",
        "number": o.number - 1000,
        "order_number": o.number,
        "taxes_included": o.store.taxes_included,
        "token": b.token(),
        "total_discounts": format_money(0, currency),
        # The original CDNOW amount is exactly the USD value Shopify reports here.
        "total_price_usd": f"{o.purchase.usd:.2f}",
        "total_weight": sum(110 * ln.quantity for ln in o.lines),
        "discount_codes": [],
        "note_attributes": [],
        "tax_lines": _tax_lines(p.country, o.tax_rate, o.tax, currency),
        "shipping_lines": [shipping],
        "billing_address": address,
        "shipping_address": address,
        "customer": customer,
    }


def _address(p: _Person) -> dict[str, Any]:
    return {
        **fixture("shopify/orders_create.json")["shipping_address"],
        "address1": p.address1,
        "address2": "",
        "city": p.city.name,
        "company": None,
        "country": p.country.name,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "latitude": None,
        "longitude": None,
        "phone": p.phone,
        "province": p.city.province,
        "zip": p.city.zip,
        "name": f"{p.first_name} {p.last_name}",
        "country_code": p.country.code,
        "province_code": p.city.province_code,
    }


def _customer_address(p: _Person, customer_id: int) -> dict[str, Any]:
    address = _address(p)
    del address["latitude"], address["longitude"]
    return {**address, "id": customer_id + 1, "country_name": p.country.name, "default": True}


def _customer(o: _Order, tz: ZoneInfo) -> dict[str, Any]:
    """The order's customer as both the order and customers/create describe them."""
    p = o.person
    return {
        "accepts_marketing": p.accepts_marketing,
        "created_at": _iso(o.customer_created, tz),
        "email": p.email,
        "first_name": p.first_name,
        "id": o.customer_id,
        "last_name": p.last_name,
        "phone": p.phone,
        "default_address": _customer_address(p, o.customer_id),
    }


def _customer_body(o: _Order, tz: ZoneInfo) -> dict[str, Any]:
    customer = _customer(o, tz)
    return {
        **fixture("shopify/customers_create.json"),
        **customer,
        "last_order_id": None,
        "last_order_name": None,
        "orders_count": 0,
        "total_spent": format_money(0, o.store.currency),
        "updated_at": customer["created_at"],
        "addresses": [customer["default_address"]],
    }


def _variant(ln: _Line) -> dict[str, Any]:
    """What an order line and a checkout line both say of the CD they sell."""
    product = ln.product
    return {
        "grams": 110,
        "price": format_money(ln.unit_minor, ln.currency),
        "product_id": product["product_id"],
        "quantity": ln.quantity,
        "sku": product["sku"],
        "title": product["title"],
        "variant_id": product["variant_id"],
        "variant_title": product["variant_title"],
        "vendor": product["vendor"],
    }


def _line_item(ln: _Line, fulfillment_status: str | None) -> dict[str, Any]:
    product = ln.product
    return {
        **fixture("shopify/orders_create.json")["line_items"][0],
        **_variant(ln),
        "fulfillment_service": "manual",
        "fulfillment_status": fulfillment_status,
        "id": ln.line_id,
        "requires_shipping": True,
        "name": f"{product['title']} - {product['variant_title']}",
        "properties": [],
        "product_exists": True,
    }


def _tax_lines(
    country: _Country, rate: Decimal, amount: int, currency: str
) -> list[dict[str, Any]]:
    if rate == 0:
        return []
    price = format_money(amount, currency)
    return [{"price": price, "rate": float(rate), "title": country.tax_title}]


def _fulfillment(
    b: _Builder, o: _Order, at: datetime, lines: list[dict[str, Any]]
) -> dict[str, Any]:
    tracking = str(b.rng.randint(10**11, 10**12 - 1))
    carrier = o.person.country.carrier
    stamp = _iso(at, b.tz[o.store.key])
    url = TRACKING_URLS[carrier].format(tracking)
    return {
        **fixture("shopify/fulfillments_create.json"),
        "created_at": stamp,
        "id": b.new_id("fulfillment", 5_480_000_000_000),
        "order_id": o.order_id,
        "status": "success",
        "tracking_company": carrier,
        "updated_at": stamp,
        "tracking_number": tracking,
        "tracking_numbers": [tracking],
        "tracking_url": url,
        "tracking_urls": [url],
        "receipt": {},
        "line_items": lines,
    }


def _refund(b: _Builder, o: _Order, at: datetime, lines: list[_Line]) -> None:
    rng = b.rng
    tz, currency = b.tz[o.store.key], o.store.currency
    template = fixture("shopify/refunds_create.json")
    template_line = template["refund_line_items"][0]["line_item"]
    amount = 0
    refund_lines = []
    for ln in lines:
        line_tax = _half_up(Decimal(o.tax * ln.amount) / o.subtotal)
        amount += ln.amount + (0 if o.store.taxes_included else line_tax)
        line_item = {
            **template_line,
            **_line_item(ln, None if o.cancelled else "fulfilled"),
            "taxable": o.tax_rate > 0,
            "fulfillable_quantity": ln.quantity if o.cancelled else 0,
            "total_discount": format_money(0, currency),
            "tax_lines": _tax_lines(o.person.country, o.tax_rate, line_tax, currency),
        }
        refund_lines.append(
            {
                "id": b.new_id("refund_line", 1_050_000_000_000),
                "quantity": ln.quantity,
                "line_item_id": ln.line_id,
                "line_item": line_item,
            }
        )
    if len(lines) == len(o.lines):
        amount = o.total  # a full refund returns exactly what was paid, rounding included
    o.refunded_minor += amount
    transaction = {
        **template["transactions"][0],
        "id": b.new_id("transaction", 7_020_000_000_000),
        "order_id": o.order_id,
        "amount": format_money(amount, currency),
        "gateway": "shopify_payments",
        "created_at": _iso(at, tz),
        "currency": currency,
        "authorization": None,
        "parent_id": b.new_id("transaction", 7_020_000_000_000),
    }
    body = {
        **template,
        "id": b.new_id("refund", 9_310_000_000_000),
        "order_id": o.order_id,
        "created_at": _iso(at, tz),
        "note": "Order cancelled" if o.cancelled else rng.choice(("Damaged in transit", "Return")),
        "restock": not o.cancelled,
        "user_id": None,
        "refund_line_items": refund_lines,
        "transactions": [transaction],
        "order_adjustments": [],
    }
    b.emit(o.store.key, "refunds/create", at, body, o.person.email)


def _checkout_body(
    b: _Builder,
    store: _StoreSpec,
    p: _Person,
    at: datetime,
    checkout_id: int,
    token: str,
    lines: list[_Line],
    customer_id: int | None,
    tax: int | None = None,
) -> dict[str, Any]:
    template = fixture("shopify/checkouts_create.json")
    currency, stamp = store.currency, _iso(at, b.tz[store.key])
    rate = b.tax_rate(store, p)
    subtotal = sum(ln.amount for ln in lines)
    if tax is None:  # an abandoned cart: tax as the order would have charged it
        included = subtotal - _half_up(Decimal(subtotal) / (1 + rate))
        tax = included if store.taxes_included else _half_up(subtotal * rate)
    total = subtotal + (0 if store.taxes_included else tax)
    items = [
        {
            **template["line_items"][0],
            **_variant(ln),
            "applied_discounts": [],
            "compare_at_price": None,
            "id": ln.product["variant_id"],
            "line_price": format_money(ln.amount, currency),
            "properties": None,
            "taxable": rate > 0,
        }
        for ln in lines
    ]
    address = _address(p)
    shipping = {**template["shipping_line"][0], "price": format_money(0, currency)}
    return {
        **template,
        **_money_fields(lines, subtotal, tax, total),
        "id": checkout_id,
        "applied_discount": format_money(0, currency),
        "created_at": stamp,
        "updated_at": stamp,
        "presentment_currency": currency,
        "email": p.email,
        "shipping_line": [shipping],
        "shipping_rates": [],
        "taxes_included": store.taxes_included,
        "token": token,
        "line_items": items,
        "name": f"#{checkout_id}",
        "note_attributes": [],
        "discount_code": [],
        "tax_lines": _tax_lines(p.country, rate, tax, currency),
        "billing_address": address,
        "shipping_address": address,
        "customer_id": customer_id,
        "customer_locale": p.country.locale,
        "device_id": None,
    }


def _abandoned_checkouts(
    b: _Builder, people: list[_Person], count: int, first_day: date, last_day: date
) -> None:
    """Checkouts no order follows: 60% from prospects LinkStar has never seen (the audience of
    abandoned-cart flows), the rest from existing customers."""
    rng = b.rng
    keys = [s.key for s in STORE_SPECS]
    shares = [s.share for s in STORE_SPECS]
    for n in range(count):
        key = rng.choices(keys, shares)[0]
        store = b.shopify[key]
        locals_ = [p for p in people if p.home == key]
        if rng.random() < 0.6 or not locals_:
            # example.net keeps prospects' addresses apart from customers' (example.com).
            person = b.person(CdnowCustomer(f"p{n:04d}", ()), key, "example.net")
        else:
            person = rng.choice(locals_)
        at = b.local_time(b.day_between(first_day, last_day), key)
        lines = [
            _Line(
                b.new_id("line", 13_800_000_000_000),
                product,
                1,
                _in_minor(Decimal(rng.randint(799, 1999)) / 100, store.currency),
                store.currency,
            )
            for product in rng.sample(b.catalog, rng.randint(1, 2))
        ]
        body = _checkout_body(
            b, store, person, at, b.new_id("checkout", 36_100_000_000_000), b.token(), lines, None
        )
        b.emit(key, "checkouts/create", at, body, person.email)


def _ignored_topic_deliveries(b: _Builder, first_day: date, last_day: date) -> None:
    """Two product edits and a stock change: topics a shop may still send but LinkStar ignores.
    No fixture exists for them; the bodies follow the shapes in Shopify's webhook reference."""
    rng = b.rng
    for topic in ("products/update", "products/update", "inventory_levels/update"):
        key = rng.choice([s.key for s in STORE_SPECS])
        at = b.local_time(b.day_between(first_day, last_day), key)
        stamp = _iso(at, b.tz[key])
        product = rng.choice(b.catalog)
        if topic == "products/update":
            body: dict[str, Any] = {
                "id": product["product_id"],
                "title": product["title"],
                "body_html": "",
                "vendor": product["vendor"],
                "product_type": "Music",
                "created_at": stamp,
                "handle": product["sku"].lower(),
                "updated_at": stamp,
                "published_at": stamp,
                "status": "active",
                "tags": product["genre"],
                "variants": [
                    {
                        "id": product["variant_id"],
                        "product_id": product["product_id"],
                        "title": product["variant_title"],
                        "sku": product["sku"],
                        "inventory_quantity": rng.randint(0, 400),
                        "updated_at": stamp,
                    }
                ],
                "options": [],
                "images": [],
            }
            ordering_key = f"product:{product['product_id']}"
        else:
            body = {
                "inventory_item_id": product["variant_id"] + 1,
                "location_id": 61_000_000_000,
                "available": rng.randint(0, 400),
                "updated_at": stamp,
            }
            ordering_key = f"inventory:{product['variant_id']}"
        b.emit(key, topic, at, body, ordering_key)


def _duplicates(b: _Builder) -> None:
    """Redeliver about P_DUPLICATE of deliveries later with the same event id, webhook id and
    bytes: what Shopify (and every marketplace, and SQS for Amazon) does when an
    acknowledgement is lost or slow."""
    rng = b.rng
    for original in list(b.pending):
        if original.ignored or rng.random() >= P_DUPLICATE:
            continue
        b.seq += 1
        later = original.send_at + timedelta(seconds=rng.randint(30, 6 * 3600))
        b.pending.append(replace(original, send_at=later, seq=b.seq))


def _expected(
    sent: list[_Pending],
    stores: list[DemoStore],
    orders: list[_Order],
    market_orders: list[_MarketOrder],
) -> Expected:
    """Ground truth from the generator's records and the final send order."""
    deliveries: Counter[str] = Counter()
    duplicates: Counter[str] = Counter()
    stale: Counter[str] = Counter()
    ignored: Counter[str] = Counter()
    seen: set[str] = set()
    newest: dict[str, datetime] = {}
    for p in sent:
        key = p.delivery.store_key
        deliveries[key] += 1
        if p.delivery.event_id in seen:
            duplicates[key] += 1
            continue
        seen.add(p.delivery.event_id)
        if p.ignored:
            ignored[key] += 1
        elif p.order_key is not None and p.state_at is not None:
            if p.order_key in newest and p.state_at < newest[p.order_key]:
                stale[key] += 1
            else:
                newest[p.order_key] = p.state_at

    by_store: dict[str, list[_Order]] = defaultdict(list)
    for o in orders:
        by_store[o.store.key].append(o)
    market_by_store: dict[str, list[_MarketOrder]] = defaultdict(list)
    for mo in market_orders:
        market_by_store[mo.spec.key].append(mo)
    truths: dict[str, StoreTruth] = {}
    details: dict[str, dict[str, OrderTruth]] = {}
    for store in stores:
        key = store.key
        faults = {
            "deliveries": deliveries[key],
            "duplicates": duplicates[key],
            "out_of_order": stale[key],
            "ignored_topics": ignored[key],
        }
        if store.platform == "shopify":
            mine, currency = by_store[key], store.currency
            kept = [o for o in mine if not o.cancelled]
            truths[key] = StoreTruth(
                orders=len(mine),
                cancelled=len(mine) - len(kept),
                refunded_orders=sum(1 for o in mine if o.refunded_minor),
                refunded={currency: to_decimal(sum(o.refunded_minor for o in mine), currency)},
                gmv={currency: to_decimal(sum(o.total for o in kept), currency)},
                units=sum(o.purchase.units for o in mine),
                **faults,
            )
            continue
        market = market_by_store[key]
        gmv: dict[str, Decimal] = defaultdict(Decimal)
        details[key] = {}
        cancelled = 0
        for mo in market:
            assert mo.order is not None and mo.life is not None
            total = to_decimal(mo.total, mo.currency)
            cancelled += mo.life.status == "cancelled"
            gmv[mo.currency] += Decimal(0) if mo.life.status == "cancelled" else total
            details[key][mo.order.order_id] = OrderTruth(
                mo.life.status, total, mo.currency, mo.order.country
            )
        truths[key] = StoreTruth(
            orders=len(market),
            cancelled=cancelled,
            refunded_orders=0,  # marketplaces settle refunds themselves: LinkStar sees statuses
            refunded={},
            gmv=dict(gmv),
            units=sum(mo.purchase.units for mo in market),
            **faults,
        )
    # Who LinkStar can tell apart, order by order (anonymous buyers left out).
    buyers = [(("email", o.person.email), o.store.key) for o in orders] + [
        (buyer, mo.spec.key) for mo in market_orders if (buyer := _buyer(mo))
    ]
    orders_by_buyer = Counter(b for b, _ in buyers)
    stores_by_buyer: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for b, store_key in buyers:
        stores_by_buyer[b].add(store_key)
    return Expected(
        stores=truths,
        customers=len(orders_by_buyer),
        repeat_customers=sum(1 for n in orders_by_buyer.values() if n >= 2),
        cross_store_customers=sum(1 for s in stores_by_buyer.values() if len(s) > 1),
        orders_by_store=details,
    )


def _buyer(mo: _MarketOrder) -> tuple[str, ...] | None:
    """How LinkStar keys this buyer: by email when the platform gives one, else by the
    platform's buyer id within the store, else not at all."""
    order = mo.order
    assert order is not None
    if order.buyer_email:
        return ("email", order.buyer_email)
    if order.buyer_id:
        return ("id", mo.spec.key, order.buyer_id)
    return None
