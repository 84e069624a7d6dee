"""``FakeMarketplaces``: Amazon SP-API (with Login with Amazon), TikTok Shop, Shopee and Lazada on
loopback, answering in each platform's documented shapes and checking signatures and access
tokens the way the real APIs do. Standard library only: the local stack supervisor starts it as
``python -m infra.local.marketplaces --port N``.

Where each API lives (``fake.env()`` returns these, ready for the clients' environment):

| prefix                | serves                                    | client variable        |
|-----------------------|-------------------------------------------|------------------------|
| ``/amazon``           | ``/orders/v0/orders/{id}[/orderItems]``   | ``SPAPI_ENDPOINT``     |
| ``/amazon-lwa``       | ``/auth/o2/token``                        | ``LWA_TOKEN_URL`` (URL)|
| ``/tiktok``           | ``/order/202309/orders``                  | ``TIKTOK_API_BASE``    |
| ``/tiktok-auth``      | ``/api/v2/token/refresh``                 | ``TIKTOK_AUTH_BASE``   |
| ``/shopee``           | ``/api/v2/order/get_order_detail``,       | ``SHOPEE_API_BASE``    |
|                       | ``/api/v2/auth/access_token/get``         |                        |
| ``/lazada/rest``      | ``/order/get``, ``/order/items/get``      | ``LAZADA_API_BASE``    |
| ``/lazada-auth/rest`` | ``/auth/token/refresh``                   | ``LAZADA_AUTH_BASE``   |
| ``/_fake``            | seeding and counters (below)              |                        |

The prefix is not part of what is signed: TikTok Shop, Shopee and Lazada sign the API path
(``/order/202309/orders``), which is the whole URL path on the real hosts.

What is verified, per platform (the clients' module docstrings cite the documentation):

- **Amazon**: LWA checks ``grant_type=refresh_token``, the client id and secret
  (``401 invalid_client``) and the refresh token (``400 invalid_grant``); SP-API checks
  ``x-amz-access-token`` (``403 Unauthorized``, expired or unknown) and answers 404 for another
  seller's or an unknown order. ``getOrderItems`` pages with ``NextToken``.
- **TikTok Shop**: HMAC-SHA256 over ``secret + path + sorted(key+value, minus sign and
  access_token) + body + secret`` (``106001``), ``timestamp`` within five minutes, the
  ``x-tts-access-token`` header (``105001`` unknown, ``105002`` expired) and ``shop_cipher``.
- **Shopee**: HMAC-SHA256 over ``partner_id + path + timestamp + access_token + shop_id``
  (``error_sign``), ``timestamp`` within five minutes (``error_param``), the token for that shop
  (``invalid_acceess_token``, Shopee's spelling); only the ``response_optional_fields`` asked for
  are returned, as on Shopee.
- **Lazada**: uppercase HMAC-SHA256 over ``api_path + sorted(key+value, minus sign)``
  (``IncompleteSignature``) and ``access_token`` (``IllegalAccessToken``); an unknown order is
  ``E016: Invalid Order ID``.

Where a platform does not publish something, the fake's choice is marked as such in the code
(the HTTP status of some errors, throttling bodies, refresh-failure codes).

Throttling: ``throttle_every=N`` makes every Nth order request (token endpoints excluded) answer
429 with ``Retry-After`` and the platform's throttling body. ``requests`` counts requests per
``(platform, operation)``, operations named as the clients name them.

Seeding from another process: ``POST /_fake/apps`` ``{platform, app_id, app_secret}``,
``POST /_fake/grants`` ``{platform, app_id, shop[, access_token, refresh_token]}`` (answers the
tokens and the credentials a store needs), ``POST /_fake/orders`` ``{platform, shop, order[,
items]}``; ``GET /_fake/stats``. The ``*_order`` helpers build a documented-shape order from a few
canonical fields: ``fake.add_order("shopee", shop, **shopee_order("2404098R48U37H", ...))``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from infra.local.fake_server import Answer, FakeServer, JsonRequestHandler

AMAZON = "amazon"
TIKTOK = "tiktok_shop"
SHOPEE = "shopee"
LAZADA = "lazada"
PLATFORMS = (AMAZON, TIKTOK, SHOPEE, LAZADA)

# Token lifetimes (seconds): LWA 1 h; Shopee 4 h / 30 days; Lazada (live apps) 30 / 180 days, as
# documented; TikTok Shop's access token 7 days, its refresh token's life the fake's choice.
ACCESS_TTL = {AMAZON: 3600, TIKTOK: 7 * 86400, SHOPEE: 4 * 3600, LAZADA: 30 * 86400}
REFRESH_TTL = {AMAZON: None, TIKTOK: 365 * 86400, SHOPEE: 30 * 86400, LAZADA: 180 * 86400}
TIMESTAMP_TOLERANCE = 300  # TikTok Shop and Shopee: a signed timestamp is good for five minutes

# Canonical line for the order builders: (sku, title, quantity, unit price).
Line = tuple[str, str, int, "str | Decimal | int | float"]

_SHOPEE_OPTIONAL_FIELDS = frozenset(
    [
        "buyer_user_id",
        "buyer_username",
        "estimated_shipping_fee",
        "recipient_address",
        "actual_shipping_fee",
        "goods_to_declare",
        "note",
        "note_update_time",
        "item_list",
        "pay_time",
        "dropshipper",
        "dropshipper_phone",
        "split_up",
        "buyer_cancel_reason",
        "cancel_by",
        "cancel_reason",
        "actual_shipping_fee_confirmed",
        "buyer_cpf_id",
        "fulfillment_flag",
        "pickup_done_time",
        "package_list",
        "shipping_carrier",
        "payment_method",
        "total_amount",
        "invoice_data",
        "order_chargeable_weight_gram",
        "return_request_due_date",
        "edt",
        "payment_info",
    ]
)


@dataclass
class Grant:
    """What one seller authorised one app to do, and the tokens that prove it."""

    platform: str
    app_id: str
    shop: str
    access_token: str
    refresh_token: str
    access_expires_at: float
    refresh_expires_at: float | None


def _answer(status: int, body: Any, **headers: str) -> Answer:
    return Answer(status, body, dict(headers))


# ------------------------------------------------------------------------------ the fake


class FakeMarketplaces(FakeServer):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        throttle_every: int = 0,
        retry_after: int = 1,
        amazon_items_page_size: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.throttle_every = throttle_every
        self.retry_after = retry_after
        self.amazon_items_page_size = amazon_items_page_size
        self.clock = clock
        self.requests: Counter[tuple[str, str]] = Counter()
        self._apps: dict[tuple[str, str], str] = {}
        self._grants: dict[tuple[str, str], Grant] = {}  # (platform, access token)
        self._refresh: dict[tuple[str, str], Grant] = {}  # (platform, refresh token)
        self._orders: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._order_requests = 0
        self._lock = threading.RLock()
        super().__init__(host, port, _Handler, "fake-marketplaces")
        self._routes: tuple[tuple[str, Callable[..., Answer]], ...] = (
            ("/_fake", self._control),
            ("/amazon-lwa", self._lwa),
            ("/amazon", self._spapi),
            ("/tiktok-auth", self._tiktok_refresh),
            ("/tiktok", self._tiktok),
            ("/shopee", self._shopee),
            ("/lazada-auth/rest", self._lazada_refresh),
            ("/lazada/rest", self._lazada),
        )

    def env(self) -> dict[str, str]:
        """The client environment that points every marketplace client at this fake."""
        url = self.url
        return {
            "SPAPI_ENDPOINT": f"{url}/amazon",
            "LWA_TOKEN_URL": f"{url}/amazon-lwa/auth/o2/token",
            "TIKTOK_API_BASE": f"{url}/tiktok",
            "TIKTOK_AUTH_BASE": f"{url}/tiktok-auth",
            "SHOPEE_API_BASE": f"{url}/shopee",
            "LAZADA_API_BASE": f"{url}/lazada/rest",
            "LAZADA_AUTH_BASE": f"{url}/lazada-auth/rest",
        }

    # ----------------------------------------------------------------------- seeding

    def register_app(self, platform: str, app_id: str | int, app_secret: str) -> None:
        """An app the platform knows: LWA client id/secret (Amazon), app key/secret (TikTok Shop,
        Lazada), partner id/key (Shopee)."""
        _check_platform(platform)
        with self._lock:
            self._apps[(platform, str(app_id))] = app_secret

    def authorize(
        self,
        platform: str,
        app_id: str | int,
        shop: str | int,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
    ) -> Grant:
        """The seller authorises the app: tokens are issued. ``shop`` is what the platform's
        requests identify the seller by: the seller id (Amazon, Lazada), the ``shop_cipher``
        (TikTok Shop), the ``shop_id`` (Shopee)."""
        _check_platform(platform)
        with self._lock:
            if (platform, str(app_id)) not in self._apps:
                raise KeyError(f"register the {platform} app {app_id!r} first")
            return self._issue(platform, str(app_id), str(shop), access_token, refresh_token)

    def credentials(self, platform: str, app_id: str | int, shop: str | int) -> dict[str, Any]:
        """The latest grant's credentials, shaped as LinkStar stores them for one store."""
        with self._lock:
            secret = self._apps[(platform, str(app_id))]
            grants = [
                g
                for g in self._grants.values()
                if g.platform == platform and g.app_id == str(app_id) and g.shop == str(shop)
            ]
        if not grants:
            raise KeyError(f"no {platform} grant for {shop!r}")
        grant = max(grants, key=lambda g: g.access_expires_at)
        tokens: dict[str, Any] = {
            "access_token": grant.access_token,
            "access_token_expires_at": _iso(grant.access_expires_at),
            "refresh_token": grant.refresh_token,
        }
        if platform == AMAZON:
            return {"lwa_client_id": str(app_id), "lwa_client_secret": secret, **tokens}
        tokens["refresh_token_expires_at"] = (
            _iso(grant.refresh_expires_at) if grant.refresh_expires_at else None
        )
        if platform == TIKTOK:
            return {
                "app_key": str(app_id),
                "app_secret": secret,
                "shop_cipher": grant.shop,
                **tokens,
            }
        if platform == SHOPEE:
            return {
                "partner_id": int(app_id),
                "partner_key": secret,
                "shop_id": int(grant.shop),
                **tokens,
            }
        return {"app_key": str(app_id), "app_secret": secret, **tokens}

    def expire_access_tokens(self, platform: str | None = None) -> None:
        """Every access token issued so far expires now (the next request must refresh)."""
        with self._lock:
            for (p, _), grant in self._grants.items():
                if platform is None or p == platform:
                    grant.access_expires_at = self.clock() - 1

    def add_order(
        self,
        platform: str,
        shop: str | int,
        order: Mapping[str, Any],
        items: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """An order in the platform's documented shape: getOrder's ``payload`` (+ ``items``,
        getOrderItems' ``OrderItems``) for Amazon, one entry of ``data.orders`` for TikTok Shop,
        of ``response.order_list`` for Shopee, GetOrder's ``data`` (+ ``items``, GetOrderItems'
        ``data``) for Lazada. The ``*_order`` builders make them."""
        _check_platform(platform)
        key_field = {AMAZON: "AmazonOrderId", TIKTOK: "id", SHOPEE: "order_sn", LAZADA: "order_id"}
        order_id = str(order[key_field[platform]])
        # Stored as the JSON the API answers with, never changed after (a new seed replaces it).
        stored = json.loads(json.dumps({"order": order, "items": list(items or [])}, default=str))
        with self._lock:
            self._orders[(platform, str(shop), order_id)] = stored

    def count(self, platform: str, operation: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (p, op), n in self.requests.items()
                if p == platform and (operation is None or op == operation)
            )

    # ------------------------------------------------------------------------ tokens

    def _issue(
        self,
        platform: str,
        app_id: str,
        shop: str,
        access_token: str | None = None,
        refresh_token: str | None = None,
    ) -> Grant:
        now = self.clock()
        prefixes = {AMAZON: "Atza|", TIKTOK: "ROW_", SHOPEE: "", LAZADA: "50000"}
        refresh_ttl = REFRESH_TTL[platform]
        grant = Grant(
            platform=platform,
            app_id=app_id,
            shop=shop,
            access_token=access_token or prefixes[platform] + secrets.token_hex(16),
            refresh_token=refresh_token
            or ("Atzr|" if platform == AMAZON else "") + secrets.token_hex(16),
            access_expires_at=now + ACCESS_TTL[platform],
            refresh_expires_at=now + refresh_ttl if refresh_ttl else None,
        )
        self._grants[(platform, grant.access_token)] = grant
        self._refresh[(platform, grant.refresh_token)] = grant
        return grant

    def _refresh_grant(self, platform: str, app_id: str, refresh_token: str) -> Grant | None:
        """A new access token (and, except with LWA, a new refresh token) for a valid refresh
        token of this app; None when it is unknown, expired or another app's."""
        with self._lock:
            old = self._refresh.get((platform, refresh_token))
            if old is None or old.app_id != app_id:
                return None
            if old.refresh_expires_at is not None and old.refresh_expires_at <= self.clock():
                return None
            # LWA refresh tokens are long-lived and reused; the others rotate on every refresh.
            keep = refresh_token if platform == AMAZON else None
            return self._issue(platform, app_id, old.shop, refresh_token=keep)

    def _grant(self, platform: str, access_token: str | None) -> tuple[Grant | None, bool]:
        """(grant, expired) for an access token."""
        if not access_token:
            return None, False
        with self._lock:
            grant = self._grants.get((platform, access_token))
        if grant is None:
            return None, False
        return grant, grant.access_expires_at <= self.clock()

    def _order(self, platform: str, shop: str, order_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._orders.get((platform, shop, order_id))

    def _orders_listed(self, platform: str, shop: str, ids: str) -> list[dict[str, Any]]:
        """The known orders among comma-separated ``ids``, in their order."""
        listed = (self._order(platform, shop, i.strip()) for i in ids.split(",") if i)
        return [found["order"] for found in listed if found]

    def _count(self, platform: str, operation: str, *, order_call: bool) -> bool:
        """Count the request; True when this one must be throttled."""
        with self._lock:
            self.requests[(platform, operation)] += 1
            if not order_call or self.throttle_every <= 0:
                return False
            self._order_requests += 1
            return self._order_requests % self.throttle_every == 0

    def _throttled(self, answer: Answer) -> Answer:
        """``answer`` (the platform's throttling body) as a 429 with ``Retry-After``."""
        answer.status = 429
        answer.headers["Retry-After"] = str(self.retry_after)
        return answer

    def _app_secret(self, platform: str, app_id: str | None) -> str | None:
        with self._lock:
            return self._apps.get((platform, str(app_id))) if app_id else None

    # ----------------------------------------------------------------------- routing

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> Answer:
        for prefix, handler in self._routes:
            if path == prefix or path.startswith(prefix + "/"):
                return handler(method, path[len(prefix) :], query, headers, body)
        return _answer(404, {"message": f"no fake API at {path}"})

    # ----------------------------------------------------------------------- control

    def _control(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> Answer:
        if method == "GET" and path == "/stats":
            with self._lock:
                counts = [
                    {"platform": p, "operation": op, "count": n}
                    for (p, op), n in sorted(self.requests.items())
                ]
            return _answer(200, {"requests": counts})
        if method != "POST":
            return _answer(405, {"message": "POST seeds the fake"})
        try:
            data = json.loads(body or b"{}")
            if path == "/apps":
                self.register_app(data["platform"], data["app_id"], data["app_secret"])
                return _answer(201, {"registered": True})
            if path == "/grants":
                grant = self.authorize(
                    data["platform"],
                    data["app_id"],
                    data["shop"],
                    access_token=data.get("access_token"),
                    refresh_token=data.get("refresh_token"),
                )
                creds = self.credentials(grant.platform, grant.app_id, grant.shop)
                return _answer(201, {"grant": asdict(grant), "credentials": creds})
            if path == "/orders":
                self.add_order(data["platform"], data["shop"], data["order"], data.get("items"))
                return _answer(201, {"added": True})
        except (KeyError, TypeError, ValueError) as exc:
            return _answer(400, {"message": f"bad seed request: {exc!r}"})
        return _answer(404, {"message": f"no control endpoint {path}"})

    # ------------------------------------------------------------------------ Amazon

    def _lwa(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> Answer:
        self._count(AMAZON, "lwaToken", order_call=False)
        if method != "POST" or path != "/auth/o2/token":
            return _answer(404, {"error": "not_found"})
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if form.get("grant_type") != "refresh_token":
            return _answer(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported",
                },
            )
        client_id = form.get("client_id", "")
        secret = self._app_secret(AMAZON, client_id)
        if secret is None or not hmac.compare_digest(secret, form.get("client_secret", "")):
            return _answer(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )
        grant = self._refresh_grant(AMAZON, client_id, form.get("refresh_token", ""))
        if grant is None:
            return _answer(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : "
                    "refresh_token",
                },
            )
        return _answer(
            200,
            {
                "access_token": grant.access_token,
                "refresh_token": grant.refresh_token,
                "token_type": "bearer",
                "expires_in": ACCESS_TTL[AMAZON],
            },
            **{"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _spapi(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> Answer:
        parts = path.strip("/").split("/")
        if (
            method != "GET"
            or len(parts) not in (4, 5)
            or parts[:3] != ["orders", "v0", "orders"]
            or parts[4:] not in ([], ["orderItems"])
        ):
            return _spapi_not_found()
        operation = "getOrderItems" if len(parts) == 5 else "getOrder"
        if self._count(AMAZON, operation, order_call=True):
            return self._throttled(
                _spapi_error(
                    429, "QuotaExceeded", "You exceeded your quota for the requested resource."
                )
            )
        grant, expired = self._grant(AMAZON, headers.get("x-amz-access-token"))
        if grant is None or expired:
            why = (
                "The access token you provided has expired."
                if expired
                else "The access token you provided is revoked, malformed or invalid."
            )
            return _spapi_error(403, "Unauthorized", "Access to requested resource is denied.", why)
        found = self._order(AMAZON, grant.shop, parts[3])
        if found is None:
            return _spapi_not_found()
        if operation == "getOrder":
            return _spapi_ok({"payload": found["order"]})
        items = found["items"]
        start = _decode_next_token(query.get("NextToken"))
        if start is None:
            return _spapi_error(400, "InvalidInput", "Invalid NextToken.")
        end = start + self.amazon_items_page_size
        payload: dict[str, Any] = {"AmazonOrderId": parts[3], "OrderItems": items[start:end]}
        if end < len(items):
            payload["NextToken"] = base64.urlsafe_b64encode(str(end).encode()).decode()
        return _spapi_ok({"payload": payload})

    # ------------------------------------------------------------------- TikTok Shop

    def _tiktok(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> Answer:
        if path != "/order/202309/orders" or method != "GET":
            return _tiktok_error(404, 36009001, "API not found")  # the fake's code
        if self._count(TIKTOK, "getOrderDetail", order_call=True):
            # TikTok Shop publishes no throttling body: the status is what clients key on.
            return self._throttled(
                _tiktok_error(429, 36009004, "Too many requests, please try again later")
            )
        secret = self._app_secret(TIKTOK, query.get("app_key"))
        if secret is None:
            return _tiktok_error(401, 106001, "Invalid credentials. The 'app_key' is invalid.")
        if not hmac.compare_digest(
            query.get("sign", ""), verify_tiktok_sign(secret, path, query, body)
        ):
            return _tiktok_error(
                401, 106001, "Invalid credentials. The 'sign' query parameter is invalid."
            )
        if not _fresh_timestamp(query.get("timestamp"), self.clock()):
            return _tiktok_error(401, 106002, "The 'timestamp' is invalid or expired.")
        grant, expired = self._grant(TIKTOK, headers.get("x-tts-access-token"))
        if grant is None or grant.app_id != query.get("app_key"):
            return _tiktok_error(
                401, 105001, "Invalid credentials. The 'x-tts-access-token' header is invalid."
            )
        if expired:
            return _tiktok_error(
                401, 105002, "Expired credentials. The 'x-tts-access-token' header has expired."
            )
        if query.get("shop_cipher") != grant.shop:
            return _tiktok_error(400, 106011, "The 'shop_cipher' is invalid.")  # the fake's code
        orders = self._orders_listed(TIKTOK, grant.shop, query.get("ids", ""))
        return _answer(
            200,
            {
                "code": 0,
                "message": "Success",
                "request_id": _request_id(),
                "data": {"orders": orders},
            },
        )

    def _tiktok_refresh(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> Answer:
        self._count(TIKTOK, "refreshToken", order_call=False)
        if path != "/api/v2/token/refresh":
            return _tiktok_error(404, 36009001, "API not found")
        app_key = query.get("app_key", "")
        secret = self._app_secret(TIKTOK, app_key)
        # The failure codes of the token service are not published: the fake's own.
        if secret is None or not hmac.compare_digest(secret, query.get("app_secret", "")):
            return _tiktok_error(200, 36004003, "Invalid app_key or app_secret.")
        if query.get("grant_type") != "refresh_token":
            return _tiktok_error(200, 36004002, "Invalid grant_type.")
        grant = self._refresh_grant(TIKTOK, app_key, query.get("refresh_token", ""))
        if grant is None:
            return _tiktok_error(200, 36004004, "The refresh_token is invalid or expired.")
        return _answer(
            200,
            {
                "code": 0,
                "message": "success",
                "request_id": _request_id(),
                "data": {
                    "access_token": grant.access_token,
                    "access_token_expire_in": int(grant.access_expires_at),
                    "refresh_token": grant.refresh_token,
                    "refresh_token_expire_in": int(grant.refresh_expires_at or 0),
                    "open_id": hashlib.sha256(grant.shop.encode()).hexdigest()[:24],
                    "seller_name": "Fake seller",
                    "seller_base_region": "US",
                    "user_type": 0,
                },
            },
        )

    # ------------------------------------------------------------------------ Shopee

    def _shopee(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> Answer:
        if path == "/api/v2/auth/access_token/get" and method == "POST":
            return self._shopee_refresh(path, query, body)
        if path != "/api/v2/order/get_order_detail" or method != "GET":
            return _shopee_error(404, "error_not_found", "Wrong parameters, detail: no such API.")
        if self._count(SHOPEE, "get_order_detail", order_call=True):
            # Shopee publishes no throttling body: the status is what clients key on.
            return self._throttled(
                _shopee_error(429, "error_too_many_request", "Too many requests.")
            )
        failure = self._shopee_signature(path, query, with_shop_token=True)
        if failure is not None:
            return failure
        partner_id, shop_id = query["partner_id"], query["shop_id"]
        grant, expired = self._grant(SHOPEE, query["access_token"])
        if grant is None or expired or grant.shop != shop_id or grant.app_id != partner_id:
            return _shopee_error(403, "invalid_acceess_token", "Invalid access_token.")
        wanted = {f.strip() for f in query.get("response_optional_fields", "").split(",")}
        # Optional fields come back only when asked for, as on Shopee.
        orders = [
            {k: v for k, v in order.items() if k not in _SHOPEE_OPTIONAL_FIELDS or k in wanted}
            for order in self._orders_listed(SHOPEE, grant.shop, query.get("order_sn_list", ""))
        ]
        if not orders:
            # Documented error example; its HTTP status is not documented (the fake's choice).
            return _shopee_error(
                404, "error_not_found", "Wrong parameters, detail: the order is not found."
            )
        return _answer(
            200,
            {
                "error": "",
                "message": "",
                "request_id": _request_id(),
                "response": {"order_list": orders},
            },
        )

    def _shopee_refresh(self, path: str, query: dict[str, str], body: bytes) -> Answer:
        self._count(SHOPEE, "refreshAccessToken", order_call=False)
        failure = self._shopee_signature(path, query, with_shop_token=False)
        if failure is not None:
            return failure
        partner_id = query["partner_id"]
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return _shopee_error(400, "error_param", "Wrong parameters, detail: body not JSON.")
        if str(data.get("partner_id")) != partner_id:
            return _shopee_error(403, "error_param", "Invalid partner_id.")
        grant = self._refresh_grant(SHOPEE, partner_id, str(data.get("refresh_token", "")))
        if grant is None or grant.shop != str(data.get("shop_id")):
            # Not published: the fake answers as for any invalid credential.
            return _shopee_error(403, "error_auth", "Invalid refresh_token.")
        return _answer(
            200,
            {
                "refresh_token": grant.refresh_token,
                "access_token": grant.access_token,
                "expire_in": ACCESS_TTL[SHOPEE],
                "request_id": _request_id(),
                "error": "",
                "message": "",
                "partner_id": int(partner_id),
                "shop_id": int(grant.shop),
            },
        )

    def _shopee_signature(
        self, path: str, query: dict[str, str], *, with_shop_token: bool
    ) -> Answer | None:
        """The partner, the signature (over the access token and shop id too for shop-level
        APIs, which must carry them) and its timestamp; None when they hold."""
        partner_id = query.get("partner_id", "")
        key = self._app_secret(SHOPEE, partner_id)
        if key is None:
            return _shopee_error(403, "error_param", "Invalid partner_id.")
        signed: tuple[str, ...] = ()
        if with_shop_token:
            for name in ("access_token", "shop_id", "sign", "timestamp"):
                if not query.get(name):
                    return _shopee_error(403, "error_param", f"There is no {name} in query.")
            signed = (query["access_token"], query["shop_id"])
        timestamp = query.get("timestamp", "")
        expected = verify_shopee_sign(key, partner_id, path, timestamp, *signed)
        if not hmac.compare_digest(query.get("sign", ""), expected):
            return _shopee_error(403, "error_sign", "Wrong sign.")
        if not _fresh_timestamp(timestamp, self.clock()):
            return _shopee_error(403, "error_param", "Invalid timestamp")
        return None

    # ------------------------------------------------------------------------ Lazada

    def _lazada(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> Answer:
        operations = {"/order/get": "GetOrder", "/order/items/get": "GetOrderItems"}
        operation = operations.get(path)
        if operation is None:
            return _lazada_error("InvalidApiPath", "The specified API path is invalid")
        params = _lazada_params(query, body)
        if self._count(LAZADA, operation, order_call=True):
            return self._throttled(
                _lazada_error("ApiCallLimit", "The request has exceeded the limit.", "ISP")
            )
        failure = self._lazada_signature(path, params)
        if failure is not None:
            return failure
        grant, expired = self._grant(LAZADA, params.get("access_token"))
        if grant is None or expired or grant.app_id != params.get("app_key"):
            return _lazada_error(
                "IllegalAccessToken", "The specified access token is invalid or expired"
            )
        order_id = params.get("order_id", "")
        found = self._order(LAZADA, grant.shop, order_id)
        if found is None:
            return _lazada_error("16", f'E016: "{order_id}" Invalid Order ID')
        data = found["order"] if operation == "GetOrder" else found["items"]
        return _answer(200, {"code": "0", "data": data, "request_id": _request_id()})

    def _lazada_refresh(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> Answer:
        self._count(LAZADA, "RefreshAccessToken", order_call=False)
        if path != "/auth/token/refresh":
            return _lazada_error("InvalidApiPath", "The specified API path is invalid")
        params = _lazada_params(query, body)
        failure = self._lazada_signature(path, params)
        if failure is not None:
            return failure
        grant = self._refresh_grant(LAZADA, params["app_key"], params.get("refresh_token", ""))
        if grant is None:
            # Not published: the fake's code for a refresh token past its life.
            return _lazada_error("IllegalRefreshToken", "The specified refresh token is invalid")
        now = self.clock()
        return _answer(
            200,
            {
                "access_token": grant.access_token,
                "refresh_token": grant.refresh_token,
                "country": "sg",
                "refresh_expires_in": int((grant.refresh_expires_at or now) - now),
                "account_platform": "seller_center",
                "expires_in": int(grant.access_expires_at - now),
                "account": f"seller-{grant.shop}@example.com",
                "code": "0",
                "request_id": _request_id(),
            },
        )

    def _lazada_signature(self, path: str, params: dict[str, str]) -> Answer | None:
        secret = self._app_secret(LAZADA, params.get("app_key"))
        if secret is None:
            return _lazada_error("InvalidAppKey", "The specified app key is invalid")
        if params.get("sign_method", "").lower() != "sha256":
            return _lazada_error("InvalidSignMethod", "The specified sign method is not supported")
        if not hmac.compare_digest(
            params.get("sign", ""), verify_lazada_sign(secret, path, params)
        ):
            return _lazada_error(
                "IncompleteSignature",
                "The request signature does not conform to platform standards",
            )
        return None


# --------------------------------------------------------------- signature verification
# Written from the platforms' documentation independently of the LinkStar clients, so a client
# bug cannot be mirrored here and pass.


def _hmac_sha256_hex(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_tiktok_sign(secret: str, path: str, query: Mapping[str, str], body: bytes) -> str:
    keys = sorted(k for k in query if k not in ("sign", "access_token"))
    message = secret + path + "".join(k + query[k] for k in keys) + body.decode() + secret
    return _hmac_sha256_hex(secret, message)


def verify_shopee_sign(
    key: str, partner_id: str, path: str, timestamp: str, access_token: str = "", shop_id: str = ""
) -> str:
    return _hmac_sha256_hex(key, partner_id + path + timestamp + access_token + shop_id)


def verify_lazada_sign(secret: str, api_path: str, params: Mapping[str, str]) -> str:
    signed = "".join(k + params[k] for k in sorted(params) if k != "sign" and params[k] != "")
    return _hmac_sha256_hex(secret, api_path + signed).upper()


def _lazada_params(query: dict[str, str], body: bytes) -> dict[str, str]:
    # Lazada takes the parameters in the query or as a form body (POST).
    return {**query, **dict(parse_qsl(body.decode(), keep_blank_values=True))}


def _fresh_timestamp(value: str | None, now: float) -> bool:
    try:
        return abs(now - int(value or "")) <= TIMESTAMP_TOLERANCE
    except ValueError:
        return False


# ------------------------------------------------------------------------------ answers


def _request_id() -> str:
    return uuid.uuid4().hex


def _spapi_ok(body: Any) -> Answer:
    return _answer(
        200, body, **{"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-RateLimit-Limit": "0.5"}
    )


def _spapi_error(status: int, code: str, message: str, details: str = "") -> Answer:
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if status not in (403, 429):
        headers["x-amzn-RateLimit-Limit"] = "0.5"
    return Answer(
        status, {"errors": [{"code": code, "message": message, "details": details}]}, headers
    )


def _spapi_not_found() -> Answer:
    return _spapi_error(404, "NotFound", "The resource specified does not exist.")


def _tiktok_error(status: int, code: int, message: str) -> Answer:
    return _answer(
        status, {"code": code, "message": message, "data": None, "request_id": _request_id()}
    )


def _shopee_error(status: int, error: str, message: str) -> Answer:
    return _answer(status, {"error": error, "message": message, "request_id": _request_id()})


def _lazada_error(code: str, message: str, kind: str = "ISV") -> Answer:
    # Lazada answers business and auth errors with HTTP 200 and a non-zero code.
    return _answer(
        200, {"type": kind, "code": code, "message": message, "request_id": _request_id()}
    )


def _decode_next_token(token: str | None) -> int | None:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        return None


def _check_platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise ValueError(f"the fake serves {', '.join(PLATFORMS)}, not {platform!r}")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


class _Handler(JsonRequestHandler):
    server_version = "FakeMarketplaces/1.0"
    content_type = "application/json;charset=UTF-8"

    def answer(self, path: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
        fake: FakeMarketplaces = self.server.fake  # type: ignore[attr-defined]
        params = dict(parse_qsl(query, keep_blank_values=True))
        return fake.handle(self.command, path, params, headers, body)


# ----------------------------------------------------------------------- order builders


def _digits(text: str, count: int) -> str:
    """Stable digits derived from ``text`` (the built-in hash differs between processes)."""
    return str(int(hashlib.sha256(text.encode()).hexdigest(), 16))[:count].rjust(count, "0")


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _money(value: Any, currency: str) -> str:
    """A decimal string with the currency's minor-unit places."""
    places = 0 if currency.upper() in ("JPY", "KRW", "VND", "CLP", "IDR") else 2
    return str(_dec(value).quantize(Decimal(1).scaleb(-places)))


_CREATED = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def _times(created_at: datetime | None, updated_at: datetime | None) -> tuple[datetime, datetime]:
    """(created, updated) in UTC; created defaults to a fixed time, updated to created."""
    created = created_at or _CREATED
    updated = updated_at or created
    if created.tzinfo is None or updated.tzinfo is None:
        raise ValueError("order times must be aware datetimes")
    return created.astimezone(UTC), updated.astimezone(UTC)


def amazon_order(
    order_id: str,
    lines: Iterable[Line],
    *,
    status: str = "Unshipped",
    marketplace_id: str = "ATVPDKIKX0DER",
    currency: str = "USD",
    shipping: Any = "0",
    tax: Any = "0",
    discount: Any = "0",
    country: str = "US",
    postal_code: str = "48817",
    buyer_email: str | None = None,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    """getOrder's payload and getOrderItems' items (ordersV0.json shapes). Shipping, tax and
    the promotion discount are carried by the first item; OrderTotal adds them up."""
    created, updated = _times(created_at, updated_at)

    def money(value: Any) -> dict[str, str]:
        return {"CurrencyCode": currency, "Amount": _money(value, currency)}

    items: list[dict[str, Any]] = []
    subtotal = Decimal(0)
    for n, (sku, title, quantity, unit) in enumerate(lines):
        line_total = _dec(unit) * quantity
        subtotal += line_total
        items.append(
            {
                "ASIN": "B0" + _digits(sku, 8),
                "OrderItemId": f"{order_id.replace('-', '')[-8:]}{n:04d}",
                "SellerSKU": sku,
                "Title": title,
                "QuantityOrdered": quantity,
                "QuantityShipped": quantity if status == "Shipped" else 0,
                "ItemPrice": money(line_total),
                "ItemTax": money(tax if n == 0 else 0),
                "ShippingPrice": money(shipping if n == 0 else 0),
                "PromotionDiscount": money(discount if n == 0 else 0),
                "IsGift": "false",
                "ConditionId": "New",
            }
        )
    total = subtotal + _dec(shipping) + _dec(tax) - _dec(discount)
    order: dict[str, Any] = {
        "AmazonOrderId": order_id,
        "PurchaseDate": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "LastUpdateDate": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "OrderStatus": status,
        "FulfillmentChannel": "MFN",
        "SalesChannel": "Amazon.com",
        "ShipServiceLevel": "Std US D2D Dom",
        "NumberOfItemsShipped": sum(i["QuantityShipped"] for i in items),
        "NumberOfItemsUnshipped": sum(i["QuantityOrdered"] - i["QuantityShipped"] for i in items),
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": marketplace_id,
        "ShipmentServiceLevelCategory": "Standard",
        "OrderType": "StandardOrder",
        "IsBusinessOrder": False,
        "IsPrime": False,
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
        "ShippingAddress": {
            "StateOrRegion": "MI",
            "PostalCode": postal_code,
            "City": "Canton",
            "CountryCode": country,
        },
    }
    if status not in ("Pending", "PendingAvailability"):
        # SP-API has no prices for an order whose payment is not authorised yet.
        order["OrderTotal"] = money(total)
    else:
        for item in items:
            for field in ("ItemPrice", "ItemTax", "ShippingPrice", "PromotionDiscount"):
                item.pop(field)
    if buyer_email:
        order["BuyerInfo"] = {"BuyerEmail": buyer_email}
    return {"order": order, "items": items}


def tiktok_order(
    order_id: str,
    lines: Iterable[Line],
    *,
    status: str = "AWAITING_SHIPMENT",
    currency: str = "USD",
    shipping: Any = "0",
    tax: Any = "0",
    seller_discount: Any = "0",
    region_code: str = "US",
    postal_code: str = "10011",
    user_id: str = "7021436810468230477",
    buyer_email: str | None = "v2kp4b9c6uaanvwq7ddjhvfqzdm7@scs.tiktokw.us",
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    """One entry of Get Order Detail's ``data.orders`` (API version 202309): one line item per
    unit; ``sub_total`` is the items after discounts, ``total_amount`` adds shipping and tax."""
    created, updated = _times(created_at, updated_at)
    line_items: list[dict[str, Any]] = []
    original = Decimal(0)
    for n, (sku, title, quantity, unit) in enumerate(lines):
        original += _dec(unit) * quantity
        line_items.extend(
            {
                "id": f"{order_id[-9:]}{n:03d}{unit_no:03d}",
                "sku_id": "17290" + _digits(sku, 12),
                "seller_sku": sku,
                "product_id": "17290" + _digits(title, 12),
                "product_name": title,
                "sku_name": "Default",
                "original_price": _money(unit, currency),
                "sale_price": _money(unit, currency),
                "currency": currency,
                "display_status": status,
                "is_gift": False,
            }
            for unit_no in range(quantity)
        )
    sub_total = original - _dec(seller_discount)
    total = sub_total + _dec(shipping) + _dec(tax)
    order: dict[str, Any] = {
        "id": order_id,
        "status": status,
        "create_time": int(created.timestamp()),
        "update_time": int(updated.timestamp()),
        "user_id": user_id,
        "payment": {
            "currency": currency,
            "original_total_product_price": _money(original, currency),
            "seller_discount": _money(seller_discount, currency),
            "platform_discount": _money(0, currency),
            "sub_total": _money(sub_total, currency),
            "original_shipping_fee": _money(shipping, currency),
            "shipping_fee": _money(shipping, currency),
            "tax": _money(tax, currency),
            "total_amount": _money(total, currency),
        },
        "recipient_address": {
            "region_code": region_code,
            "postal_code": postal_code,
            "full_address": "****",
            "name": "D***d K***g",
            "phone_number": "(+1)213-***-1234",
        },
        "line_items": line_items,
        "buyer_message": "",
        "payment_method_name": "CCDC",
        "shipping_type": "TIKTOK",
        "fulfillment_type": "FULFILLMENT_BY_SELLER",
    }
    if status != "UNPAID":
        order["paid_time"] = int(created.timestamp()) + 60
    if buyer_email:
        order["buyer_email"] = buyer_email
    return {"order": order}


def _shopee_number(value: Any) -> int | float:
    # Shopee sends money as JSON numbers (VND 32119, SGD 12.5).
    value = _dec(value)
    return int(value) if value == value.to_integral_value() else float(value)


def shopee_order(
    order_sn: str,
    lines: Iterable[Line],
    *,
    status: str = "READY_TO_SHIP",
    currency: str = "SGD",
    region: str = "SG",
    shipping: Any = "0",
    buyer_user_id: int = 1170319091,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    """One entry of get_order_detail's ``response.order_list``; ``total_amount`` = items plus
    the shipping the buyer paid (returned only once the order is paid, as documented)."""
    created, updated = _times(created_at, updated_at)
    items = []
    subtotal = Decimal(0)
    for n, (sku, title, quantity, unit) in enumerate(lines):
        subtotal += _dec(unit) * quantity
        items.append(
            {
                "item_id": 23620853561 + n,
                "item_name": title,
                "item_sku": "",
                "model_id": 221404189791 + n,
                "model_name": "",
                "model_sku": sku,
                "model_quantity_purchased": quantity,
                "model_original_price": _shopee_number(unit),
                "model_discounted_price": _shopee_number(unit),
                "wholesale": False,
                "add_on_deal": False,
                "main_item": False,
                "promotion_type": "",
                "weight": 0.1,
            }
        )
    order: dict[str, Any] = {
        "order_sn": order_sn,
        "region": region,
        "currency": currency,
        "cod": False,
        "order_status": status,
        "message_to_seller": "",
        "create_time": int(created.timestamp()),
        "update_time": int(updated.timestamp()),
        "days_to_ship": 2,
        "ship_by_date": int(created.timestamp()) + 2 * 86400,
        "buyer_user_id": buyer_user_id,
        "buyer_username": "xt4fdsf96j",
        "recipient_address": {
            "name": "P******n",
            "phone": "******64",
            "town": "",
            "district": "",
            "city": "Singapore",
            "state": "",
            "region": region,
            "zipcode": "238801",
            "full_address": "******",
        },
        "item_list": items,
        "estimated_shipping_fee": _shopee_number(shipping),
        "payment_method": "Credit Card/Debit Card",
        "shipping_carrier": "Standard Delivery",
        "cancel_reason": "",
        "cancel_by": "",
    }
    if status not in ("UNPAID", "PENDING"):
        order["total_amount"] = _shopee_number(subtotal + _dec(shipping))
        order["pay_time"] = int(created.timestamp()) + 60
    return {"order": order}


def lazada_order(
    order_id: str,
    lines: Iterable[Line],
    *,
    status: str = "pending",
    site: str = "lazada_sg",
    currency: str = "SGD",
    shipping_fee: Any = "0",
    voucher: Any = "0",
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    """GetOrder's ``data`` and GetOrderItems' ``data`` (one object per unit sold). ``price``
    excludes discounts; the buyer pays ``price - voucher + shipping_fee``."""
    # Lazada answers in the site's local time: UTC+8 in Singapore, Malaysia and the
    # Philippines, UTC+7 elsewhere.
    local = timezone(timedelta(hours=8 if site in ("lazada_sg", "lazada_my", "lazada_ph") else 7))
    created, updated = (
        t.astimezone(local).strftime("%Y-%m-%d %H:%M:%S %z") for t in _times(created_at, updated_at)
    )
    units = [(sku, title, unit) for sku, title, quantity, unit in lines for _ in range(quantity)]
    per_unit_voucher = _dec(voucher) / len(units) if units else Decimal(0)
    items = [
        {
            "order_item_id": int(f"{order_id}{n:03d}"[-15:]),
            "order_id": int(order_id),
            "name": title,
            "sku": sku,
            "shop_sku": f"{sku}-SG",
            "sku_id": 2000000 + n,
            "product_id": 1000000 + n,
            "item_price": _money(unit, currency),
            "paid_price": _money(_dec(unit) - per_unit_voucher, currency),
            "tax_amount": _money(0, currency),
            "voucher_amount": _money(per_unit_voucher, currency),
            "shipping_amount": _money(_dec(shipping_fee) / len(units), currency),
            "currency": currency,
            "status": status,
            "shipping_type": "Dropshipping",
            "created_at": created,
            "updated_at": updated,
        }
        for n, (sku, title, unit) in enumerate(units)
    ]
    order = {
        "order_id": int(order_id),
        "order_number": int(order_id),
        "customer_first_name": "J***",
        "customer_last_name": "",
        "price": _money(sum((_dec(unit) for _, _, unit in units), Decimal(0)), currency),
        "voucher": _money(voucher, currency),
        "voucher_platform": _money(0, currency),
        "voucher_seller": _money(voucher, currency),
        "shipping_fee": _money(shipping_fee, currency),
        "items_count": len(items),
        "statuses": [status],
        "payment_method": "COD",
        "created_at": created,
        "updated_at": updated,
        "address_shipping": {
            "first_name": "J***",
            "last_name": "",
            "country": "Singapore",
            "city": "Singapore",
            "post_code": "238801",
            "phone": "",
            "address1": "******",
        },
    }
    return {"order": order, "items": items}


# ---------------------------------------------------------------------------- standalone


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.marketplaces",
        description="Run fake Amazon SP-API, TikTok Shop, Shopee and Lazada APIs on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--throttle-every", type=int, default=0, help="every Nth order call → 429")
    parser.add_argument("--retry-after", type=int, default=1)
    args = parser.parse_args(argv)
    fake = FakeMarketplaces(
        args.host, args.port, throttle_every=args.throttle_every, retry_after=args.retry_after
    )
    # The supervisor reads the URL and the client environment from the announced line.
    fake.serve_until_signalled({"url": fake.url, "env": fake.env()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
