"""KPIs as the API and the schedules use them: metric imports, definitions (audited, by role),
evaluation for a period, the dashboard, scorecards, agency statements and off-track alerts.

Permissions (the issue's): ``owner``/``admin`` define KPIs, owners and agency contracts;
``manager`` sets targets, thresholds and weights (nothing else of a KPI); ``operator`` imports
metrics and sees only the KPIs of the owner its key acts for (``ApiKey.owner``); ``viewer`` reads.
Every change is audited with who, when, before and after.

A KPI's period kind (day, week, month, quarter) is its own; asked for a period label of another
kind (the dashboard for ``2026-11`` holding a weekly KPI), it is evaluated for its own period
that contains the last day of the label asked for (today, if that period is in progress).

Alerts: the daily schedule scores each KPI for its current period and tells its owner when the
status moves into ``at_risk`` or ``off_track`` (and records a return to ``on_track``, so the next
slip is news again): once per change, by a compare-and-set on the last status told, by email
(and SMS) through LinkStar's notices in the owner's language (``Owner.locale``) and as a
``kpi.status_changed`` bus event.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from linkstar import ids
from linkstar.errors import BadRequest, Forbidden, NotFound
from linkstar.kpis import formula as formulas
from linkstar.kpis import library, scoring
from linkstar.kpis.access import audit_actor, reporting_currency, require_role
from linkstar.kpis.data import ORDER_SCOPE_KEYS, SCOPE_KEYS, Loader
from linkstar.store import keys
from linkstar.store import kpis as store
from linkstar.tenants.models import Principal, Role
from linkstar.text import DEFAULT, LOCALES, Refusal, Text, negotiate, use_locale

TREND_PERIODS = 6


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str | None = Field(default=None, max_length=100)
    platform: str | None = Field(default=None, max_length=40)
    market: str | None = Field(default=None, min_length=2, max_length=2)
    campaign: str | None = Field(default=None, max_length=300)
    sku: str | None = Field(default=None, max_length=200)
    owner: str | None = Field(default=None, max_length=100)

    def filters(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None and k in SCOPE_KEYS}


class KpiIn(BaseModel):
    """``POST /kpis``: a built-in (its formula, unit and direction are defaults) or a formula."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    builtin: str | None = None
    formula: str | None = Field(default=None, max_length=formulas.MAX_LENGTH)
    unit: library.Unit | None = None
    direction: library.Direction | None = None
    period: scoring.PeriodKind = "month"
    target: scoring.Target | None = None
    thresholds: scoring.Thresholds = scoring.Thresholds()
    weight: Decimal = Field(default=Decimal(1), ge=0, le=100, allow_inf_nan=False)
    owner: str | None = Field(default=None, min_length=1, max_length=100)
    scope: Scope = Scope()

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any) -> Any:
        # "target": "120000" is an absolute target; {"kind": "growth", "value": "0.1"} a growth.
        if isinstance(value, str | int | float):
            return {"kind": "absolute", "value": str(value)}
        return value

    @model_validator(mode="after")
    def _formula(self) -> KpiIn:
        if (self.builtin is None) == (self.formula is None):
            raise ValueError("give either builtin (a library KPI) or formula")
        if self.builtin is not None and self.builtin not in library.BUILTINS:
            raise ValueError(
                f"builtin: unknown {self.builtin!r}; known: {', '.join(sorted(library.BUILTINS))}"
            )
        return self


class Kpi(BaseModel):
    """A stored KPI definition."""

    model_config = ConfigDict(frozen=True)

    kpi_id: str
    name: str
    builtin: str | None
    formula: str
    unit: library.Unit
    direction: library.Direction
    period: scoring.PeriodKind
    target: scoring.Target | None
    thresholds: scoring.Thresholds
    weight: Decimal
    owner: str | None
    scope: Scope
    created_at: datetime
    updated_at: datetime

    @property
    def parsed(self) -> formulas.Formula:
        return formulas.parse(self.formula)


def _owner_locale(value: Any) -> Any:
    """An owner's locale as given: ``en`` or ``zh-CN`` (in any letter case, as language tags
    are); none given (or ``null``, which older clients send) is English."""
    if value is None:
        return DEFAULT
    if isinstance(value, str):
        for known in LOCALES:
            if value.lower() == known.lower():
                return known
    shown = repr(value[:35] if isinstance(value, str) else value)
    raise Refusal(Text("kpi.owner.unknown_locale", value=shown, locales=list(LOCALES)))


OwnerLocale = Annotated[
    Literal["en", "zh-CN"],
    BeforeValidator(_owner_locale),
    Field(description="The language the owner's alerts (email and SMS) are written in."),
]


class OwnerIn(BaseModel):
    """``PUT /owners/{id}``: who the owner is, where they hear of a slip and in which language."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["person", "team", "agency"] = "person"
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")
    locale: OwnerLocale = "en"


class Owner(BaseModel):
    """A person, team or agency KPIs belong to, and where (and in which language) they are told
    of a slip."""

    model_config = ConfigDict(extra="forbid")

    owner_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["person", "team", "agency"] = "person"
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")  # E.164: SMS notices
    locale: OwnerLocale = "en"

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Owner:
        """A stored owner. Owners saved before the locale was checked hold none, or whatever
        was given then (``zh``, ``en-GB``, ``fr``): each reads as the nearest locale alerts are
        written in, English when none is near."""
        return cls.model_validate({**doc, "locale": negotiate(doc.get("locale"))})


# ---------------------------------------------------------------- metrics in


def import_facts(who: Principal, payload: Any, now: datetime) -> dict[str, Any]:
    from linkstar.kpis import facts

    require_role(who, Role.OPERATOR, Text("kpi.action.import_metrics"))
    batch = facts.parse_batch(payload, today=now.date())
    docs = [_fact_doc(f, key) for f, key in zip(batch.accepted, batch.keys, strict=True)]
    store.put_facts(who.tenant_id, docs, "api", now)
    return {
        "accepted": len(batch.accepted),
        "superseded": batch.superseded,
        "rejected": batch.rejected,
    }


def import_report(
    who: Principal,
    text: str,
    preset: str,
    mapping: dict[str, Any] | None,
    defaults: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    from linkstar.kpis import facts, importers

    require_role(who, Role.OPERATOR, Text("kpi.action.import_metrics"))
    defaults = {"currency": reporting_currency(who.tenant_id), **defaults}
    result = importers.import_csv(text, preset, mapping, defaults, today=now.date())
    docs = [_fact_doc(f, facts.fact_key(f)) for f in result.facts]
    store.put_facts(who.tenant_id, docs, f"import:{preset}", now)
    return {
        "preset": result.preset,
        "rows_read": result.rows_read,
        "facts": len(result.facts),
        "rejected": result.rejected,
        "skipped": result.skipped,
    }


def _fact_doc(fact: Any, key: str) -> dict[str, Any]:
    doc = fact.model_dump(mode="json")
    doc["key"] = key
    return {k: v for k, v in doc.items() if v is not None}


def sources(who: Principal) -> dict[str, Any]:
    items = store.sources(who.tenant_id)
    return {
        "sources": [
            {
                "source": item["sk"].removeprefix("SOURCE#"),
                "last_fact_date": item.get("last_fact_date"),
                "last_import_at": item.get("last_import_at"),
            }
            for item in items
            if item["sk"].startswith("SOURCE#")
        ],
        "metrics": [
            {
                "metric": item["sk"].removeprefix("METRIC#"),
                "last_fact_date": item.get("last_fact_date"),
                "last_import_at": item.get("last_import_at"),
                "source": item.get("last_source"),
            }
            for item in items
            if item["sk"].startswith("METRIC#")
        ],
    }


# ---------------------------------------------------------------- definitions


def create_kpi(who: Principal, body: dict[str, Any], now: datetime) -> Kpi:
    require_role(who, Role.ADMIN, Text("kpi.action.define_kpi"))
    given = KpiIn.model_validate(body)
    if given.builtin is not None:
        builtin = library.BUILTINS[given.builtin]
        text, unit, direction = builtin.formula, builtin.unit, builtin.direction
    else:
        text = str(given.formula)
        problems = _formula_problems(text)
        if problems:
            raise BadRequest(Text("kpi.formula_invalid"), code="invalid_formula", problems=problems)
        unit, direction = given.unit or "ratio", given.direction or "higher"
    kpi = Kpi(
        kpi_id="k" + secrets.token_hex(6),
        name=given.name,
        builtin=given.builtin,
        formula=text,
        unit=given.unit or unit,
        direction=given.direction or direction,
        period=given.period,
        target=given.target,
        thresholds=given.thresholds,
        weight=given.weight,
        owner=given.owner,
        scope=given.scope,
        created_at=now,
        updated_at=now,
    )
    doc = kpi.model_dump(mode="json")
    store.save(
        who.tenant_id, "kpi", keys.kpi(who.tenant_id, kpi.kpi_id), kpi.kpi_id, doc, None, 0,
        audit_actor(who), now,
    )  # fmt: skip
    return kpi


MANAGER_FIELDS = frozenset({"target", "thresholds", "weight"})


def update_kpi(who: Principal, kpi_id: str, body: dict[str, Any], now: datetime) -> Kpi:
    """``PATCH /kpis/{id}``: a manager sets target, thresholds and weight; an admin anything."""
    require_role(who, Role.MANAGER, Text("kpi.action.change_kpi"))
    if not who.role.at_least(Role.ADMIN) and set(body) - MANAGER_FIELDS:
        raise Forbidden(
            Text("kpi.manager_fields_only", fields=sorted(set(body) - MANAGER_FIELDS)),
            code="role_forbidden",
        )
    before, version = store.load(keys.kpi(who.tenant_id, kpi_id))
    if before is None:
        raise NotFound(Text("kpi.not_found"), code="kpi_not_found")
    merged = {**before, **body, "kpi_id": kpi_id, "updated_at": now.isoformat()}
    if "target" in body and isinstance(body["target"], str | int | float):
        merged["target"] = {"kind": "absolute", "value": str(body["target"])}
    if "formula" in body or "builtin" in body:
        check = KpiIn.model_validate(
            {k: merged.get(k) for k in ("name", "builtin", "formula")}
            | {"builtin": body.get("builtin"), "formula": body.get("formula")}
        )
        merged["formula"] = (
            library.BUILTINS[check.builtin].formula if check.builtin else check.formula
        )
        problems = _formula_problems(merged["formula"])
        if problems:
            raise BadRequest(Text("kpi.formula_invalid"), code="invalid_formula", problems=problems)
    kpi = Kpi.model_validate(merged)
    store.save(
        who.tenant_id, "kpi", keys.kpi(who.tenant_id, kpi_id), kpi_id,
        kpi.model_dump(mode="json"), before, version, audit_actor(who), now,
    )  # fmt: skip
    return kpi


def _formula_problems(text: str) -> list[Text]:
    """What stops a custom formula being saved: :func:`library.check_formula`'s problems less
    its warnings (a bare level summed is allowed, if unusual)."""
    return [p for p in library.check_formula(text) if p.code != library.BARE_LEVEL_WARNING]


def visible_kpis(who: Principal) -> list[Kpi]:
    kpis = [Kpi.model_validate(doc) for doc in store.list_docs(who.tenant_id, "KPI#")]
    if who.role == Role.OPERATOR:
        # An operator sees the KPIs of the owner its key acts for, and no others.
        return [k for k in kpis if who.owner is not None and k.owner == who.owner]
    return kpis


def load_kpi(who: Principal, kpi_id: str) -> Kpi:
    for kpi in visible_kpis(who):
        if kpi.kpi_id == kpi_id:
            return kpi
    raise NotFound(Text("kpi.not_found"), code="kpi_not_found")


def put_owner(who: Principal, owner_id: str, body: dict[str, Any], now: datetime) -> Owner:
    require_role(who, Role.ADMIN, Text("kpi.action.define_owner"))
    owner = Owner.model_validate({**body, "owner_id": owner_id})
    key = keys.kpi_owner(who.tenant_id, owner_id)
    before, version = store.load(key)
    doc = owner.model_dump(mode="json")
    store.save(
        who.tenant_id, "kpi_owner", key, owner_id, doc, before, version, audit_actor(who), now
    )
    return owner


def owners(tenant_id: str) -> dict[str, Owner]:
    return {doc["owner_id"]: Owner.from_doc(doc) for doc in store.list_docs(tenant_id, "OWNER#")}


# ---------------------------------------------------------------- evaluation


def loader_for(tenant_id: str) -> Loader:
    return Loader(tenant_id, reporting_currency(tenant_id))


def own_period(kpi: Kpi, label: str, today: date) -> str:
    """``kpi``'s own period for a label of any kind (see the module docstring)."""
    if scoring.kind_of(label) == kpi.period:
        return label
    _, last = scoring.bounds(label)
    return scoring.period_label(kpi.period, min(last, today))


def _data(
    loader: Loader,
    formula: formulas.Formula,
    label: str,
    today: date,
    scope: dict[str, str],
) -> formulas.PeriodData:
    ranges = scoring.data_ranges(label, today)
    metrics = formula.metrics
    # The earlier windows only when the formula reads them: a trend of six months then reads
    # six months, not thirteen.
    return formulas.PeriodData(
        current=loader.window(metrics, *ranges.current, scope),
        previous=(
            loader.window(metrics, *ranges.previous, scope) if formula.needs_previous else None
        ),
        previous_year=(
            loader.window(metrics, *ranges.previous_year, scope)
            if formula.needs_previous_year
            else None
        ),
    )


def actual(
    loader: Loader, formula: formulas.Formula, label: str, today: date, scope: dict[str, str]
) -> formulas.Outcome:
    outcome = formulas.evaluate(formula, _data(loader, formula, label, today, scope))
    order_metrics = formula.metrics & library.ORDER_METRICS
    unscopable = set(scope) - ORDER_SCOPE_KEYS
    if outcome.value is None and order_metrics and unscopable:
        return formulas.Outcome.missing(
            Text(
                "kpi.order_metrics_unscopable",
                reason=outcome.reason,
                metrics=sorted(order_metrics),
                scopes=sorted(unscopable),
            )
        )
    return outcome


def evaluate(loader: Loader, kpi: Kpi, label: str, today: date) -> dict[str, Any]:
    """``GET /kpis/{id}?period=``: actual, target, attainment, status, pace and freshness."""
    view, _ = _evaluate(loader, kpi, label, today)
    return view


def _evaluate(
    loader: Loader, kpi: Kpi, label: str, today: date
) -> tuple[dict[str, Any], dict[str, formulas.Outcome]]:
    """:func:`evaluate`'s view, and the actuals it worked out by period (the dashboard's trend
    reuses them rather than evaluating those periods again)."""
    period = own_period(kpi, label, today)
    parsed = kpi.parsed
    scope = kpi.scope.filters()
    current = actual(loader, parsed, period, today, scope)
    outcomes = {period: current}
    previous = None
    if kpi.target is not None and kpi.target.kind == "growth":
        previous = actual(loader, parsed, scoring.previous(period), today, scope)
        outcomes[scoring.previous(period)] = previous
    spec = scoring.KpiSpec(
        kpi_id=kpi.kpi_id,
        name=kpi.name,
        period=period,
        unit=kpi.unit,
        direction=kpi.direction,
        additive=parsed.additive,
        weight=kpi.weight,
        thresholds=kpi.thresholds,
    )
    result = scoring.score(spec, current, previous, kpi.target, today)
    _, last = scoring.bounds(period)
    freshness = loader.freshness(parsed.metrics, min(last, today))
    stale = sorted(m for m, f in freshness.items() if f["stale"])
    view = result.model_dump(mode="json")
    view.update(
        owner=kpi.owner,
        formula=kpi.formula,
        scope=scope,
        freshness={"stale": bool(stale), "stale_metrics": stale, "metrics": freshness},
    )
    if loader.other_currencies and parsed.metrics & {"gmv", "refund_amount"}:
        view["excluded_currencies"] = sorted(loader.other_currencies)
    return view, outcomes


def kpi_view(kpi: Kpi) -> dict[str, Any]:
    return kpi.model_dump(mode="json")


def dashboard(who: Principal, label: str, today: date) -> dict[str, Any]:
    """Every visible KPI with its actual, target, attainment, status, freshness and the trend
    of its last ``TREND_PERIODS`` periods. Reads: one query per (metric, month) touched, the
    aggregates once per month, whatever the number of orders."""
    loader = loader_for(who.tenant_id)
    rows = []
    for kpi in sorted(visible_kpis(who), key=lambda k: (k.owner or "", k.name)):
        row, known = _evaluate(loader, kpi, label, today)
        parsed, scope = kpi.parsed, kpi.scope.filters()
        trend = []
        for period in scoring.last_n(row["period"], TREND_PERIODS):
            value = (
                known[period] if period in known else actual(loader, parsed, period, today, scope)
            )
            trend.append(
                {"period": period, "actual": None if value.value is None else str(value.value)}
            )
        row["trend"] = trend
        rows.append(row)
    return {"period": label, "kpis": rows, "reads": loader.reads}


def scorecards(who: Principal, owner: str | None, label: str, today: date) -> dict[str, Any]:
    loader = loader_for(who.tenant_id)
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for kpi in visible_kpis(who):
        if owner is not None and kpi.owner != owner:
            continue
        by_owner.setdefault(kpi.owner or "(unowned)", []).append(
            evaluate(loader, kpi, label, today)
        )
    cards = []
    for name, rows in sorted(by_owner.items()):
        card = scoring.scorecard([scoring.KpiResult.model_validate(r) for r in rows])
        view = card.model_dump(mode="json")
        view["rows"] = rows
        cards.append({"owner": name, **view})
    return {"period": label, "scorecards": cards}


# ---------------------------------------------------------------- agency settlement


def put_contract(who: Principal, agency: str, body: dict[str, Any], now: datetime) -> Any:
    from linkstar.kpis import settlement

    require_role(who, Role.ADMIN, Text("kpi.action.define_contract"))
    scope = Scope.model_validate(body.get("scope") or {})
    contract = settlement.Contract.model_validate(
        {k: v for k, v in body.items() if k != "scope"} | {"agency": agency}
    )
    for name in contract.kpis_needed():
        if name not in library.BUILTINS:
            raise BadRequest(Text("kpi.rule_unknown_kpi", name=repr(name)), code="unknown_kpi")
    key = keys.contract(who.tenant_id, agency)
    before, version = store.load(key)
    doc = {"contract": contract.model_dump(mode="json"), "scope": scope.model_dump()}
    store.save(who.tenant_id, "contract", key, agency, doc, before, version, audit_actor(who), now)
    return doc


def statement(who: Principal, agency: str, label: str, today: date) -> dict[str, Any]:
    """The agency's statement for a period: its contract's KPIs and metrics over its scope."""
    from linkstar.kpis import settlement

    if who.role == Role.OPERATOR and who.owner != agency:
        raise NotFound(Text("kpi.contract_not_found"), code="contract_not_found")
    doc, _ = store.load(keys.contract(who.tenant_id, agency))
    if doc is None:
        raise NotFound(Text("kpi.contract_not_found"), code="contract_not_found")
    contract = settlement.Contract.model_validate(doc["contract"])
    scope = Scope.model_validate(doc.get("scope") or {}).filters()
    loader = loader_for(who.tenant_id)
    kpi_values = {
        name: actual(loader, library.BUILTINS[name].parsed, label, today, scope)
        for name in contract.kpis_needed()
    }
    metric_values: dict[str, Decimal | None] = {}
    for name in contract.metrics_needed():
        outcome = actual(loader, formulas.parse(f"sum({name})"), label, today, scope)
        metric_values[name] = outcome.value
    result = settlement.settle(contract, kpi_values, metric_values, label)
    view = result.model_dump(mode="json")
    _, last = scoring.bounds(label)
    view.update(agency=agency, scope=scope, final=today > last)
    return view


# ---------------------------------------------------------------- alerts

ALERT_STATES = frozenset({"at_risk", "off_track"})


def check_alerts(tenant_id: str, now: datetime) -> list[dict[str, Any]]:
    """Score every KPI for its current period; tell its owner of each change into at-risk or
    off-track (once), and note a recovery so the next slip is news again."""
    from linkstar.orders.state import DomainEvent
    from linkstar.store import dynamo, outbox

    today = now.date()
    loader = loader_for(tenant_id)
    people = owners(tenant_id)
    told: list[dict[str, Any]] = []
    for doc in store.list_docs(tenant_id, "KPI#"):
        kpi = Kpi.model_validate(doc)
        period = scoring.period_label(kpi.period, today)
        row = evaluate(loader, kpi, period, today)
        status = row["status"]
        if status not in ALERT_STATES | {"on_track"}:
            continue  # no data or no target: nothing to tell, and no state to keep
        last, version = store.last_status(tenant_id, kpi.kpi_id, period)
        if last == status or (last is None and status == "on_track"):
            continue
        if not store.status_changed(tenant_id, kpi.kpi_id, period, status, version, now):
            continue  # another run recorded this change and told the owner
        if status not in ALERT_STATES:
            continue
        detail = {
            "tenant_id": tenant_id,
            "kpi_id": kpi.kpi_id,
            "name": kpi.name,
            "owner": kpi.owner,
            "period": period,
            "status": status,
            "previous_status": last,
            "actual": row["actual"],
            "projected": row["projected"],
            "target": row["target"],
            "attainment": row["attainment"],
            "stale": row["freshness"]["stale"],
        }
        event = DomainEvent(
            ids.event_id(tenant_id, "kpi_status", kpi.kpi_id, period, status, now.isoformat()),
            "kpi.status_changed",
            detail,
        )
        dynamo.transact(outbox.event_ops(tenant_id, [event], now.isoformat()))
        person = people.get(kpi.owner or "")
        if person is not None:
            _tell_owner(tenant_id, person, detail, now)
        told.append(detail)
    return told


# The codes each alert status is said with (``kpi.alert.status.*``).
STATUS_WORDS = {
    "at_risk": Text("kpi.alert.status.at_risk"),
    "off_track": Text("kpi.alert.status.off_track"),
}


class OwnerAlert(NamedTuple):
    """An alert as its owner reads it, in their language."""

    subject: str
    body: str
    sms: str


def owner_alert(detail: dict[str, Any], locale: str) -> OwnerAlert:
    """The email's subject and body and the SMS telling an owner of ``detail`` (a
    ``kpi.status_changed`` event's detail) in ``locale``. The KPI's name, the period label and
    the figures are shown as they are; the SMS is kept to one segment for a KPI name of a
    typical length (in Chinese, UCS-2: 70 characters)."""
    status = STATUS_WORDS[detail["status"]]
    name, period = detail["name"], detail["period"]
    lines = [
        Text("kpi.alert.headline", name=name, status=status, period=period),
        Text(
            "kpi.alert.figures",
            actual=detail["actual"],
            projected=detail["projected"],
            target=detail["target"],
            attainment=detail["attainment"],
        ),
    ]
    if detail["stale"]:
        lines.append(Text("kpi.alert.stale"))
    with use_locale(locale):
        return OwnerAlert(
            subject=str(Text("kpi.alert.subject", name=name, status=status, period=period)),
            body="\n".join(str(line) for line in lines) + "\n",
            sms=str(
                Text(
                    "kpi.alert.sms",
                    name=name,
                    status=status,
                    period=period,
                    attainment=detail["attainment"],
                )
            ),
        )


def _tell_owner(tenant_id: str, owner: Owner, detail: dict[str, Any], now: datetime) -> None:
    """By email and, when the owner gave a phone, by SMS, in the owner's language: one of each
    per change."""
    from linkstar import notices

    alert = owner_alert(detail, owner.locale)
    key = f"kpi|{tenant_id}|{detail['kpi_id']}|{detail['period']}|{detail['status']}|{now.date()}"
    if owner.email:
        notices.send_email(owner.email, key, alert.subject, alert.body, "kpi_owner", now)
    if owner.phone:
        notices.send_sms(owner.phone, key, alert.sms, "kpi_owner", now)


def check_all(now: datetime) -> dict[str, int]:
    """The daily schedule: every tenant's KPIs."""
    from linkstar.store import tenants

    told = 0
    for tenant_id in tenants.all_tenant_ids():
        told += len(check_alerts(tenant_id, now))
    return {"kpi_alerts": told}
