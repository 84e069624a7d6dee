"""Where a marketplace order sells: Amazon marketplace ids, Lazada sites, default currencies.

Amazon's table is the full published list of SP-API marketplace ids (Selling Partner API
"Marketplace IDs" reference), with the regional endpoint each one is served from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AmazonMarketplace:
    marketplace_id: str
    country: str  # ISO 3166-1 alpha-2 (Amazon writes UK; we use GB)
    currency: str
    region: str  # SP-API endpoint region: na, eu or fe
    domain: str


_AMAZON = [
    ("A2EUQ1WTGCTBG2", "CA", "CAD", "na", "amazon.ca"),
    ("ATVPDKIKX0DER", "US", "USD", "na", "amazon.com"),
    ("A1AM78C64UM0Y8", "MX", "MXN", "na", "amazon.com.mx"),
    ("A2Q3Y263D00KWC", "BR", "BRL", "na", "amazon.com.br"),
    ("A28R8C7NBKEWEA", "IE", "EUR", "eu", "amazon.ie"),
    ("A1RKKUPIHCS9HS", "ES", "EUR", "eu", "amazon.es"),
    ("A1F83G8C2ARO7P", "GB", "GBP", "eu", "amazon.co.uk"),
    ("A13V1IB3VIYZZH", "FR", "EUR", "eu", "amazon.fr"),
    ("AMEN7PMS3EDWL", "BE", "EUR", "eu", "amazon.com.be"),
    ("A1805IZSGTT6HS", "NL", "EUR", "eu", "amazon.nl"),
    ("A1PA6795UKMFR9", "DE", "EUR", "eu", "amazon.de"),
    ("APJ6JRA9NG5V4", "IT", "EUR", "eu", "amazon.it"),
    ("A2NODRKZP88ZB9", "SE", "SEK", "eu", "amazon.se"),
    ("AE08WJ6YKNBMC", "ZA", "ZAR", "eu", "amazon.co.za"),
    ("A1C3SOZRARQ6R3", "PL", "PLN", "eu", "amazon.pl"),
    ("ARBP9OOSHTCHU", "EG", "EGP", "eu", "amazon.eg"),
    ("A33AVAJ2PDY3EV", "TR", "TRY", "eu", "amazon.com.tr"),
    ("A17E79C6D8DWNP", "SA", "SAR", "eu", "amazon.sa"),
    ("A2VIGQ35RCS4UG", "AE", "AED", "eu", "amazon.ae"),
    ("A21TJRUUN4KGV", "IN", "INR", "eu", "amazon.in"),
    ("A19VAU5U5O7RUS", "SG", "SGD", "fe", "amazon.sg"),
    ("A39IBJ37TRP1C6", "AU", "AUD", "fe", "amazon.com.au"),
    ("A1VC38T7YXB528", "JP", "JPY", "fe", "amazon.co.jp"),
]
AMAZON_MARKETPLACES: dict[str, AmazonMarketplace] = {
    row[0]: AmazonMarketplace(*row) for row in _AMAZON
}
# Amazon's "All Orders" report names the marketplace by its sales channel (domain).
AMAZON_BY_DOMAIN: dict[str, AmazonMarketplace] = {
    m.domain.lower(): m for m in AMAZON_MARKETPLACES.values()
}

SPAPI_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}


def amazon_marketplace(marketplace_id: str | None) -> AmazonMarketplace | None:
    return AMAZON_MARKETPLACES.get(marketplace_id or "")


# Lazada names its country sites in every push ("site": "lazada_vn").
LAZADA_SITES: dict[str, tuple[str, str, str]] = {
    "lazada_sg": ("SG", "SGD", "https://api.lazada.sg/rest"),
    "lazada_my": ("MY", "MYR", "https://api.lazada.com.my/rest"),
    "lazada_th": ("TH", "THB", "https://api.lazada.co.th/rest"),
    "lazada_vn": ("VN", "VND", "https://api.lazada.vn/rest"),
    "lazada_ph": ("PH", "PHP", "https://api.lazada.com.ph/rest"),
    "lazada_id": ("ID", "IDR", "https://api.lazada.co.id/rest"),
}

# The currency a market's orders are in when a notification doesn't say (pending amounts only:
# the enriched order always carries the platform's own currency).
DEFAULT_CURRENCY = {
    "US": "USD", "CA": "CAD", "MX": "MXN", "BR": "BRL", "GB": "GBP", "IE": "EUR", "DE": "EUR",
    "FR": "EUR", "ES": "EUR", "IT": "EUR", "NL": "EUR", "BE": "EUR", "AT": "EUR", "PT": "EUR",
    "FI": "EUR", "SE": "SEK", "PL": "PLN", "TR": "TRY", "AE": "AED", "SA": "SAR", "EG": "EGP",
    "IN": "INR", "ZA": "ZAR", "JP": "JPY", "AU": "AUD", "SG": "SGD", "MY": "MYR", "TH": "THB",
    "VN": "VND", "PH": "PHP", "ID": "IDR", "TW": "TWD", "CO": "COP", "CL": "CLP", "CN": "CNY",
    "HK": "HKD", "KR": "KRW", "NZ": "NZD", "CH": "CHF", "DK": "DKK", "NO": "NOK",
}  # fmt: skip


def default_currency(country: str | None, fallback: str = "USD") -> str:
    return DEFAULT_CURRENCY.get((country or "").upper(), fallback)
