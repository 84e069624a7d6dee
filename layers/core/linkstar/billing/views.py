"""Billing's answers as the API shows them: the pricing's models with what is added for the
reader (an unpriced line's reason as a sentence in their language). Only the OpenAPI document
imports this module; :func:`linkstar.billing.service.with_notes` fills the fields."""

from __future__ import annotations

from linkstar.billing.pricing import UsageLine, UsageReport


class ShownUsageLine(UsageLine):
    unpriced_note: str | None = None  # unpriced_reason as a sentence, in the reader's language


class ShownUsageReport(UsageReport):
    """``GET /usage?month=YYYY-MM``: :class:`UsageReport`, each unpriced line's reason said."""

    lines: list[ShownUsageLine]  # type: ignore[assignment]
