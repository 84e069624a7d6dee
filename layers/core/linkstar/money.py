"""Money as Decimal with an ISO 4217 currency, quantised by the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 minor units that differ from the default of 2 (for the currencies sellers use).
_MINOR_UNITS = {
    "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "HUF": 2, "TWD": 2, "IDR": 2,
    "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}  # fmt: skip


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantize(amount: Decimal, currency: str) -> Decimal:
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_EVEN)


def parse_amount(value: object, currency: str) -> Decimal:
    """Parse a platform's money value (string or number, never via float) in ``currency``."""
    if value is None or value == "":
        return quantize(Decimal(0), currency)
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return quantize(amount, currency)


def is_currency(code: str) -> bool:
    return len(code) == 3 and code.isalpha() and code.isupper()
