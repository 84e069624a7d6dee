"""Usage-based billing: the pure pricing engine (no I/O).

- :mod:`linkstar.billing.plans` owns what a tenant has agreed to pay: a :class:`Plan` version per
  month (base fee, included quotas, tiers, per-country rate cards, surcharges, recurring fees,
  prepaid credits, spend limit), validated in full and JSON round-trippable.
- :mod:`linkstar.billing.ratecards` reads and writes a rate card as CSV, reporting every problem
  with its line and column.
- :mod:`linkstar.billing.pricing` turns a month's usage counters into priced lines: the live
  usage view and its forecast, the invoice (with credits), quota and spend thresholds, whether a
  send can be priced at all, and the margin against provider cost.

Metering (counting sends), storage and the API call into this package; nothing here reads a
clock, a table or the network, so the same counters always give the same invoice.
"""
