"""KPIs: formulas over daily metric facts, the built-in library, scoring and agency settlement.

The modules here are pure (no I/O, no AWS): storage, the API, schedules and imports call them.

- :mod:`linkstar.kpis.formula` — the formula language: a tokenizer and recursive-descent parser
  producing an immutable AST (never ``eval``), validation against the metric catalogue, and
  evaluation over a period's daily values with ``Decimal`` arithmetic.
- :mod:`linkstar.kpis.library` — the metric catalogue (:data:`~linkstar.kpis.library.METRICS`)
  and the built-in KPIs (:data:`~linkstar.kpis.library.BUILTINS`) with their formulas.
- :mod:`linkstar.kpis.scoring` — period labels, targets, thresholds, pace and projection, a KPI's
  status and the weighted scorecard.
- :mod:`linkstar.kpis.settlement` — results-based agency contracts and the monthly statement.
"""
