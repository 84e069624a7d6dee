"""The operations funnel: stage counts and step conversions per market, platform, store, channel
or campaign, drop-offs ranked by the orders they cost, and repeat-purchase cohorts.

The modules here are pure (no I/O, no AWS) but :mod:`~linkstar.funnel.service`, which loads the
data and is what the API calls.

- :mod:`linkstar.funnel.stages` — the stage catalogue (impressions to repeat purchase, each with
  its source) and a tenant's :class:`~linkstar.funnel.stages.StageConfig` (stages may be dropped,
  not reordered; ``orders`` is required).
- :mod:`linkstar.funnel.analysis` — :func:`~linkstar.funnel.analysis.funnel`: step conversions
  for a period and the previous one, the change, and drop-off detection against the group's
  previous period and its peers, ranked by estimated lost orders (the ``GET /funnel`` body).
- :mod:`linkstar.funnel.cohorts` — repeat purchase and revenue per customer by first-order month
  over 30/60/90/180 days, windows too young to be complete reported as such, from purchases
  or from sums kept elsewhere (:func:`~linkstar.funnel.cohorts.from_totals`).
- :mod:`linkstar.funnel.contribution` — the ingest side: a customer's purchase days and the
  cohort and repeat counts they add to the daily aggregates and the cohort items, kept exact
  under duplicates, retries and out-of-order events.
- :mod:`linkstar.funnel.service` — the I/O: ``GET /funnel`` and ``GET /cohorts`` from the
  aggregates, the imported facts and the cohort items.
"""
