"""The operations funnel: stage counts and step conversions per market, platform, store, channel
or campaign, drop-offs ranked by the orders they cost, and repeat-purchase cohorts.

The modules here are pure (no I/O, no AWS): data loading, storage and the API call them.

- :mod:`linkstar.funnel.stages` — the stage catalogue (impressions to repeat purchase, each with
  its source) and a tenant's :class:`~linkstar.funnel.stages.StageConfig` (stages may be dropped,
  not reordered; ``orders`` is required).
- :mod:`linkstar.funnel.analysis` — :func:`~linkstar.funnel.analysis.funnel`: step conversions
  for a period and the previous one, the change, and drop-off detection against the group's
  previous period and its peers, ranked by estimated lost orders (the ``GET /funnel`` body).
- :mod:`linkstar.funnel.cohorts` — repeat purchase and revenue per customer by first-order month
  over 30/60/90/180 days, windows too young to be complete reported as such, and
  :func:`~linkstar.funnel.cohorts.repeat_within` for the funnel's repeat stages.
"""
