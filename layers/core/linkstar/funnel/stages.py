"""The funnel's stage catalogue and a tenant's stage configuration.

The catalogue lists every stage a funnel may show, in its *natural order* — the order a buyer
goes through them — with where its count comes from:

================  ===========  ====================================================  ==========
stage             source       what is counted in the period                         one unit is
================  ===========  ====================================================  ==========
``impressions``   import       metric ``impressions``: times an ad was shown         impression
``clicks``        import       metric ``clicks``: clicks on ads                      click
``sessions``      import       metric ``sessions``: store or listing sessions        session
``add_to_carts``  import       metric ``add_to_carts``: add-to-cart events           add-to-cart
``checkouts``     checkouts    checkouts started (ingested checkout events)          checkout
``orders``        orders       orders placed (ingested)                              order
``paid_orders``   orders       orders placed whose payment was captured              order
``fulfilled``     fulfilment   orders shipped (fulfilment events)                    order
``delivered``     fulfilment   orders delivered (fulfilment events)                  order
``reviewed``      import       metric ``reviews``: product or seller reviews         review
``repeat_30d``    customers    customers whose first purchase fell in the period     customer
                               and who bought again within 30 days of it
``repeat_60d``    customers    the same within 60 days                               customer
``repeat_90d``    customers    the same within 90 days                               customer
================  ===========  ====================================================  ==========

``import`` stages come from metrics posted through ``POST /metrics`` or the CSV presets; the
others from ingested platform data. The repeat stages come from each customer's purchase days,
which ingest keeps (cancelled orders aside) and turns into counts on the day, store and market of
the customer's first purchase (:mod:`linkstar.funnel.contribution`; "again" means on a later
day, as in :mod:`linkstar.funnel.cohorts`). A repeat count is *growing* until N days after the
period's last day: the funnel shows it and says so (:mod:`linkstar.funnel.service`).

Counts are flows over the period, not one cohort of buyers followed through: a review in
November may be of an order delivered in October, so a step's conversion can exceed 1, and the
funnel changes unit along the way (sessions, then orders, then reviews, then customers). A step
across units (``reviewed`` → ``repeat_30d``: customers per review) is an index to compare
between periods and groups, not a probability; the repeat *rate* is in
:mod:`linkstar.funnel.cohorts`.

A tenant's :class:`StageConfig` picks the stages its funnel shows. Rules, each a validation
error naming the stage:

- **Known names only**; an unknown one suggests the closest known name.
- **At least two stages**, **no duplicates**.
- **Natural order, no reordering.** A tenant may drop stages (a seller without ads starts at
  ``sessions``; one without review imports stops at ``delivered``) but not reorder them: a step
  conversion divides a stage by the one before it, and ``orders / fulfilled`` or
  ``clicks / sessions`` measures nothing a seller can act on. Dropping a stage joins its
  neighbours into one step (``sessions`` → ``checkouts``).
- **``orders`` is required**: drop-offs are ranked by the orders they cost
  (:mod:`linkstar.funnel.analysis`), which needs the orders count of every group.
- **At most one repeat stage.** ``repeat_30d``, ``repeat_60d`` and ``repeat_90d`` count the
  same customers over nested windows (each includes the one before), not successive steps; a
  funnel shows the one the tenant cares about, and the cohort view shows all of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from types import MappingProxyType
from typing import Literal, TypeGuard, get_args

from pydantic import BaseModel, ConfigDict, field_validator

from linkstar.text import Text

StageName = Literal[
    "impressions",
    "clicks",
    "sessions",
    "add_to_carts",
    "checkouts",
    "orders",
    "paid_orders",
    "fulfilled",
    "delivered",
    "reviewed",
    "repeat_30d",
    "repeat_60d",
    "repeat_90d",
]
StageSource = Literal["import", "checkouts", "orders", "fulfilment", "customers"]

ORDERS: StageName = "orders"
"""The stage drop-offs are measured in (see :mod:`linkstar.funnel.analysis`)."""


@dataclass(frozen=True, slots=True)
class StageInfo:
    """One stage of the catalogue (see the module docstring's table)."""

    name: StageName
    position: int  # in the natural order, from 0
    source: StageSource
    metric: str | None  # the imported metric's name, for ``import`` stages
    unit: str  # what one count is: "session", "order", "customer"…
    description: str
    repeat_days: int | None = None  # the window of a repeat stage


def _catalogue(
    *stages: tuple[StageName, StageSource, str | None, str, str],
) -> dict[str, StageInfo]:
    infos: dict[str, StageInfo] = {}
    for position, (name, source, metric, unit, description) in enumerate(stages):
        repeat_days = int(name[len("repeat_") : -1]) if name.startswith("repeat_") else None
        infos[name] = StageInfo(name, position, source, metric, unit, description, repeat_days)
    return infos


CATALOGUE: Mapping[str, StageInfo] = MappingProxyType(
    _catalogue(
        ("impressions", "import", "impressions", "impression", "times an ad was shown"),
        ("clicks", "import", "clicks", "click", "clicks on ads"),
        ("sessions", "import", "sessions", "session", "store or listing sessions"),
        ("add_to_carts", "import", "add_to_carts", "add-to-cart", "add-to-cart events"),
        ("checkouts", "checkouts", None, "checkout", "checkouts started"),
        ("orders", "orders", None, "order", "orders placed"),
        ("paid_orders", "orders", None, "order", "orders whose payment was captured"),
        ("fulfilled", "fulfilment", None, "order", "orders shipped"),
        ("delivered", "fulfilment", None, "order", "orders delivered"),
        ("reviewed", "import", "reviews", "review", "reviews received"),
        ("repeat_30d", "customers", None, "customer", "new customers ordering again in 30 days"),
        ("repeat_60d", "customers", None, "customer", "new customers ordering again in 60 days"),
        ("repeat_90d", "customers", None, "customer", "new customers ordering again in 90 days"),
    )
)
"""Every stage, in the natural order, keyed by name."""

STAGE_NAMES: tuple[StageName, ...] = get_args(StageName)
if tuple(CATALOGUE) != STAGE_NAMES:  # pragma: no cover - a broken catalogue fails the import
    raise RuntimeError("StageName and CATALOGUE must list the same stages in the same order")

DEFAULT_STAGES: tuple[StageName, ...] = (
    "impressions",
    "clicks",
    "sessions",
    "add_to_carts",
    "checkouts",
    "orders",
    "paid_orders",
    "fulfilled",
    "delivered",
    "reviewed",
    "repeat_30d",
)
"""The funnel a tenant gets until it configures one: every stage, repeat within 30 days."""

REPEAT_STAGES: tuple[StageName, ...] = ("repeat_30d", "repeat_60d", "repeat_90d")


def is_stage(name: object) -> TypeGuard[StageName]:
    return isinstance(name, str) and name in CATALOGUE


def stage_info(name: str) -> StageInfo:
    """The catalogue entry for ``name``; ValueError (with a suggestion) when there is none."""
    if not is_stage(name):
        raise ValueError(_unknown(name))
    return CATALOGUE[name]


def _unknown(name: object) -> Text:
    close = difflib.get_close_matches(str(name), STAGE_NAMES, n=1)
    if close:
        return Text("funnel.stage.unknown_did_you_mean", name=repr(name), close=repr(close[0]))
    return Text("funnel.stage.unknown", name=repr(name), known=", ".join(STAGE_NAMES))


class StageConfig(BaseModel):
    """The stages a tenant's funnel shows, in the natural order (rules in the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stages: tuple[StageName, ...] = DEFAULT_STAGES

    @field_validator("stages", mode="before")
    @classmethod
    def _known(cls, value: object) -> object:
        # Checked before pydantic's own Literal check, for a message that names the stage and
        # suggests the closest one rather than listing thirteen names.
        if isinstance(value, list | tuple):
            for index, name in enumerate(value):
                if not is_stage(name):
                    raise ValueError(
                        Text("funnel.stage.at", where=f"stages[{index}]", problem=_unknown(name))
                    )
        return value

    @field_validator("stages")
    @classmethod
    def _shape(cls, stages: tuple[StageName, ...]) -> tuple[StageName, ...]:
        if len(stages) < 2:
            raise ValueError(Text("funnel.stage.too_few", count=len(stages)))
        seen: set[str] = set()
        for name in stages:
            if name in seen:
                raise ValueError(Text("funnel.stage.twice", name=repr(name)))
            seen.add(name)
        for before, after in pairwise(stages):
            if CATALOGUE[after].position < CATALOGUE[before].position:
                raise ValueError(
                    Text(
                        "funnel.stage.reordered",
                        after=repr(after),
                        before=repr(before),
                        order=", ".join(STAGE_NAMES),
                    )
                )
        if ORDERS not in seen:
            raise ValueError(Text("funnel.stage.orders_required"))
        repeats = [name for name in stages if name in REPEAT_STAGES]
        if len(repeats) > 1:
            raise ValueError(Text("funnel.stage.several_repeats", stages=", ".join(repeats)))
        return stages

    def index(self, stage: StageName) -> int:
        """The position of ``stage`` in this funnel; ValueError when it is not shown."""
        return self.stages.index(stage)
