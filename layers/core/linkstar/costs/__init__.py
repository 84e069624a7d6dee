"""Global cost and profit: what a cross-border order costs on the way, and what is left.

The modules here are pure (no I/O, no AWS, no clock): storage, the API and data loading call them.

- :mod:`linkstar.costs.model` — the tenant's :class:`~linkstar.costs.model.CostModel` (the
  ``PUT /cost-model`` body): reporting currency, commission, payment fees, logistics, the ad
  allocation rule, taxes, duties, returns, COGS per SKU and the FX conversion spread. Every
  section is optional; a section left out makes its component *missing*, never zero.
- :mod:`linkstar.costs.fx` — the tenant's daily rate table (``POST /fx-rates``): a rate on the
  order date or shortly before, direct, inverse or via USD; a
  :class:`~linkstar.costs.fx.MissingRate` says why there is none.
- :mod:`linkstar.costs.profit` — an order's facts and the model in, its profit out (the
  ``GET /orders/{id}/profit`` body): revenue, every component with its source and how it was
  worked out, CM1/CM2/CM3, what is missing; ad spend allocation; roll-ups per market, platform,
  store, SKU and period (``GET /costs``).
- :mod:`linkstar.costs.economics` — unit economics (``GET /unit-economics``): CAC, cohort LTV on
  gross margin, LTV:CAC, payback, and a flag when CAC exceeds LTV.
"""
