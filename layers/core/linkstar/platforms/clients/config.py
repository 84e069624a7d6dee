"""Where the marketplace clients send their requests: endpoints from the environment, validated
once.

| variable             | default                               | meaning                          |
|----------------------|---------------------------------------|----------------------------------|
| ``SPAPI_ENDPOINT``   | (unset: by the marketplace's region)  | one base URL for every region    |
| ``LWA_TOKEN_URL``    | https://api.amazon.com/auth/o2/token  | Login with Amazon token endpoint |
| ``TIKTOK_API_BASE``  | https://open-api.tiktokglobalshop.com | TikTok Shop Open API             |
| ``TIKTOK_AUTH_BASE`` | https://auth.tiktok-shops.com         | TikTok Shop token service        |
| ``SHOPEE_API_BASE``  | https://partner.shopeemobile.com      | Shopee Open Platform (API, auth) |
| ``LAZADA_API_BASE``  | (unset: by the Lazada site)           | one base, ``/rest`` included     |
| ``LAZADA_AUTH_BASE`` | https://auth.lazada.com/rest          | Lazada token service             |

An empty value counts as unset: template.yaml passes ``""`` for the optional overrides. The local
fake (``infra.local.marketplaces``) serves every API under its own path prefix; its ``env()``
returns the values that point the clients at it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, field_validator

from linkstar.platforms.marketplaces import SPAPI_ENDPOINTS

DEFAULT_LWA_URL = "https://api.amazon.com/auth/o2/token"
DEFAULT_TIKTOK_API_BASE = "https://open-api.tiktokglobalshop.com"
DEFAULT_TIKTOK_AUTH_BASE = "https://auth.tiktok-shops.com"
DEFAULT_SHOPEE_API_BASE = "https://partner.shopeemobile.com"
DEFAULT_LAZADA_AUTH_BASE = "https://auth.lazada.com/rest"


class Endpoints(BaseModel):
    model_config = ConfigDict(frozen=True)

    spapi_endpoint: str | None = None
    lwa_token_url: str = DEFAULT_LWA_URL
    tiktok_api_base: str = DEFAULT_TIKTOK_API_BASE
    tiktok_auth_base: str = DEFAULT_TIKTOK_AUTH_BASE
    shopee_api_base: str = DEFAULT_SHOPEE_API_BASE
    lazada_api_base: str | None = None
    lazada_auth_base: str = DEFAULT_LAZADA_AUTH_BASE

    @field_validator("*")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {value!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"a base URL takes no query or fragment: {value!r}")
        # Paths are appended to it, so a trailing slash would double up.
        return value.rstrip("/")

    def spapi_base(self, region: str) -> str:
        if self.spapi_endpoint:
            return self.spapi_endpoint
        try:
            return SPAPI_ENDPOINTS[region]
        except KeyError:
            raise ValueError(f"no SP-API endpoint for region {region!r}") from None

    def lazada_base(self, site_base: str) -> str:
        return self.lazada_api_base or site_base


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


@lru_cache(maxsize=1)
def endpoints() -> Endpoints:
    values = {
        "spapi_endpoint": _env("SPAPI_ENDPOINT"),
        "lwa_token_url": _env("LWA_TOKEN_URL"),
        "tiktok_api_base": _env("TIKTOK_API_BASE"),
        "tiktok_auth_base": _env("TIKTOK_AUTH_BASE"),
        "shopee_api_base": _env("SHOPEE_API_BASE"),
        "lazada_api_base": _env("LAZADA_API_BASE"),
        "lazada_auth_base": _env("LAZADA_AUTH_BASE"),
    }
    # Unset variables take the model's defaults (None for the two optional overrides).
    return Endpoints.model_validate({k: v for k, v in values.items() if v is not None})


def reset() -> None:
    """Forget the cached endpoints (tests that change the environment call this)."""
    endpoints.cache_clear()
