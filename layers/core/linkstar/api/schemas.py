"""API request and response models for the bodies routes build by hand (views of stored entities,
service answers): what ``linkstar.api.openapi`` documents, and what the schema fuzz test holds
every answer to.

Where a route returns a domain model's ``model_dump(mode="json")`` as it is, the route names
that model and nothing is repeated here; where it adds or drops fields, the view is a subclass
or a model of its own. Routes name these models by string (``response="Dashboard"``) so the
API's cold start never imports this module or the domain modules it reads (Jinja, the flow and
pricing models): only the OpenAPI document does.

Amounts are ``Decimal`` (JSON strings such as ``"12.30"``); times are aware UTC ISO 8601.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from linkstar.billing.plans import Plan
from linkstar.billing.pricing import Invoice, MarginLine
from linkstar.costs import ledger
from linkstar.costs import report as cost_report
from linkstar.costs.economics import UnitEconomics
from linkstar.costs.fx import MAX_RATES_PER_REQUEST, FxRate
from linkstar.costs.model import Component
from linkstar.costs.profit import Rollup
from linkstar.funnel import service as funnel_service
from linkstar.funnel.analysis import FunnelReport
from linkstar.funnel.cohorts import Cohort
from linkstar.history.models import ImportJob
from linkstar.kpis.library import Direction, Unit
from linkstar.kpis.scoring import KpiResult, PeriodKind, Scorecard, Target, Thresholds
from linkstar.kpis.service import Kpi, Owner, Scope
from linkstar.kpis.settlement import Contract, Statement
from linkstar.orders.models import Address, Fulfillment, LineItem, Person, Platform, Refund
from linkstar.outreach.contacts import ContactIn
from linkstar.outreach.flows import FlowDefinition
from linkstar.outreach.models import Channel, Consent, MessageState, Purpose
from linkstar.outreach.sms import SmsEncoding
from linkstar.outreach.templates import Template
from linkstar.platforms.clients.credentials import (
    AmazonCredentials,
    LazadaCredentials,
    ShopeeCredentials,
    TikTokShopCredentials,
)
from linkstar.stores.models import StoreView
from linkstar.tenants.models import ApiKey, Role, Tenant

Day = date  # a field named date can't also use date as its type

# ---------------------------------------------------------------- errors


class ValidationIssue(BaseModel):
    """One problem pydantic found in a request body."""

    type: str
    loc: list[str | int]
    msg: str
    ctx: dict[str, Any] | None = None


class Error(BaseModel):
    """Every error answer: a machine-readable ``code`` and a sentence for a person.
    ``details`` carries an error's own fields (``problems``, ``limit``, ...); a request body that
    does not validate is ``validation_error`` with pydantic's ``errors``."""

    code: str = Field(examples=["store_not_found", "validation_error", "invalid_api_key"])
    message: str
    details: dict[str, Any] | None = None
    errors: list[ValidationIssue] | None = None


# ---------------------------------------------------------------- tenants and keys


class Health(BaseModel):
    status: Literal["ok"]


class TenantCreated(Tenant):
    """The new tenant, its owner key (shown this once) and that key's role."""

    api_key: str = Field(description="the owner's API key: shown once, store it now")
    role: Role


class ApiKeyView(ApiKey):
    """A key as its tenant sees it (the tenant is the caller's)."""

    tenant_id: str = Field(default="", exclude=True)


class ApiKeyCreated(ApiKeyView):
    api_key: str = Field(description="the key itself: shown once, store it now")


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyView]


class Me(BaseModel):
    """The calling key: its tenant, its role and the KPI owner it acts for, never the key
    itself."""

    tenant_id: str
    tenant_name: str
    key_id: str
    role: Role
    owner: str | None = Field(
        description="the KPI owner this key acts for (an operator key sees only that owner's KPIs)"
    )
    reporting_currency: str = Field(
        description="the tenant's ISO 4217 reporting currency: KPI amounts are in it"
    )


# ---------------------------------------------------------------- stores and imports


class StoreList(BaseModel):
    stores: list[StoreView]


class Credentials(
    RootModel[AmazonCredentials | TikTokShopCredentials | ShopeeCredentials | LazadaCredentials]
):
    """The store's platform's order-API credentials (Shopify stores have none)."""


class CredentialsStatus(BaseModel):
    """Whether credentials are stored, never their values."""

    configured: bool
    updated_at: datetime | None


class ImportJobView(ImportJob):
    """An import as the seller sees it (where the file is kept is not shown)."""

    s3_key: str = Field(default="", exclude=True)


class ImportList(BaseModel):
    imports: list[ImportJobView]


# ---------------------------------------------------------------- orders, customers, reports


class OrderView(BaseModel):
    """An order in a list. Fields from ``name`` on are absent while only a refund or
    fulfillment of the order has arrived (its own snapshot is not known yet)."""

    order_id: str
    store_id: str
    platform: Platform
    external_id: str
    market: str
    status: str = Field(description="an order status, or unknown")
    placed: bool
    name: str | None = None
    platform_status: str | None = None
    amounts_pending: bool | None = Field(
        default=None, description="a marketplace order known only from a notification"
    )
    currency: str | None = None
    total: Decimal | None = None
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    shipping: Decimal | None = None
    discounts: Decimal | None = None
    refunded: Decimal | None = None
    units: int | None = None
    customer_id: str | None = None
    email: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    cancelled_at: datetime | None = None


class OrderDetail(OrderView):
    milestones: list[str]
    refunds: list[Refund]
    fulfillments: list[Fulfillment]
    line_items: list[LineItem] | None = None
    customer: Person | None = None
    shipping_address: Address | None = None
    cancel_reason: str | None = None


class OrderPage(BaseModel):
    orders: list[OrderView]
    next_token: str | None = Field(description="pass as next_token for the next page")


class CustomerView(BaseModel):
    customer_id: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    country: str | None
    locale: str | None
    timezone: str | None
    timezone_source: str | None
    accepts_marketing: bool | None
    orders_count: int
    total_spent: dict[str, Decimal] = Field(description="by currency")
    first_order_at: datetime | None
    last_order_at: datetime | None
    stores: list[str]
    created_at: datetime


class CustomerPage(BaseModel):
    customers: list[CustomerView]
    next_token: str | None


class DailyCounts(BaseModel):
    orders: int
    units: int
    cancelled: int
    refunds: int
    amounts_pending: int
    new_customers: int
    returning_customers: int
    checkouts: int
    paid_orders: int
    fulfilled: int
    delivered: int
    gmv: dict[str, Decimal] = Field(description="by currency")
    refunded: dict[str, Decimal] = Field(description="by currency")


class DailyRow(DailyCounts):
    date: Day
    store_id: str
    market: str


class DailyTotal(DailyCounts):
    store_id: str
    market: str


class DailyReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: Day = Field(alias="from")
    to: Day
    rows: list[DailyRow]
    totals: list[DailyTotal] = Field(description="the range summed per store and market")


# ---------------------------------------------------------------- operator


class DeadLetter(BaseModel):
    """A dead letter's id and what its queue's reader could tell of it (tenant, store, reason,
    ...; ``reason`` alone when it could not be read)."""

    model_config = ConfigDict(extra="allow")

    message_id: str


class DeadLetters(BaseModel):
    messages: list[DeadLetter]
    count: int


class Replayed(BaseModel):
    replayed: int
    skipped: int = Field(description="left in the dead-letter queue (another tenant's, or over)")


# ---------------------------------------------------------------- outreach


class ContactView(BaseModel):
    contact_id: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    country: str | None
    region: str | None
    locale: str | None
    time_zone: str | None
    time_zone_source: str | None
    source: str
    consent: dict[str, dict[str, Consent]] = Field(description="by channel, then purpose")
    created_at: datetime
    updated_at: datetime


class ConsentRecord(Consent):
    channel: str
    purpose: str


class ContactDetail(ContactView):
    consent_history: list[ConsentRecord]
    suppressed: dict[str, str] = Field(description="channel: why its address is suppressed")


class ContactProblem(BaseModel):
    index: int
    code: str
    message: str | None = None
    errors: list[ValidationIssue] | None = None


class ContactBatchResult(BaseModel):
    contacts: list[ContactView]
    created: int
    updated: int
    errors: list[ContactProblem]


class ContactsSaved(RootModel[ContactView | ContactBatchResult]):
    """One contact sent: that contact; a list sent: what became of each."""


class ContactBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contacts: list[ContactIn] = Field(min_length=1, max_length=500)


class ContactsIn(RootModel[ContactIn | ContactBatchIn | list[ContactIn]]):
    """One contact, ``{"contacts": [...]}`` or a bare list (at most 500)."""


class ContactPage(BaseModel):
    contacts: list[ContactView]
    next_token: str | None


class InboxEntry(BaseModel):
    message_id: str | None
    title: str | None
    text: str | None
    at: datetime | None


class Inbox(BaseModel):
    contact_id: str
    messages: list[InboxEntry]


class TemplateList(BaseModel):
    templates: list[Template]


class PreviewIn(BaseModel):
    """A template given inline, or a stored one by id (and locale), with sample data."""

    template: Template | None = None
    template_id: str | None = None
    locale: str | None = None
    context: dict[str, Any] | None = Field(
        default=None, description="overrides of the sample context, by context name"
    )
    utm: dict[str, str] | None = None


class TemplatePreview(BaseModel):
    template_id: str
    channel: Channel
    locale: str
    subject: str | None
    text: str
    html: str | None
    variables: list[str]
    sms: SmsEncoding | None = Field(default=None, description="SMS only: its encoding and cost")


class PresetFlowIn(BaseModel):
    preset: str = Field(description="a preset's name (abandoned_checkout, welcome, ...)")
    name: str | None = None
    enabled: bool = True


class FlowIn(RootModel[PresetFlowIn | FlowDefinition]):
    """A preset by name (its templates are added where the seller has none), or a flow."""


class FlowView(BaseModel):
    flow_id: str
    name: str
    preset: str | None
    enabled: bool
    version: int
    definition: dict[str, Any] = Field(description="the flow as validated (trigger, steps, ...)")
    created_at: datetime
    updated_at: datetime


class FlowPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    name: str | None = None
    definition: FlowDefinition | None = None


class FlowList(BaseModel):
    flows: list[FlowView]


class FlowRates(BaseModel):
    delivery: Decimal | None
    open: Decimal | None
    click: Decimal | None
    bounce: Decimal | None
    conversion: Decimal | None


class FlowStats(BaseModel):
    """Counts since the flow was created; rates are of messages sent (null before any)."""

    flow_id: str
    name: str
    entered: int
    completed: int
    exited: int
    queued: int
    held: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    bounced: int
    complained: int
    failed: int
    suppressed: int
    skipped: int
    unsubscribed: int
    conversions: int
    attributed_revenue: dict[str, Decimal] = Field(description="by currency")
    rates: FlowRates


class MessageView(BaseModel):
    message_id: str
    contact_id: str
    flow_id: str | None
    step_id: str | None
    channel: Channel
    purpose: Purpose
    state: MessageState
    reason: str | None = Field(description="why a message is held, skipped or failed")
    hold_until: datetime | None
    to: str | None
    subject: str | None
    preview: str = Field(description="the first 160 characters of the text")
    template_id: str | None
    locale: str | None
    sms_encoding: str | None
    sms_segments: int | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    events: list[dict[str, str]]
    attributed_order_id: str | None
    headers: dict[str, str]


class MessageList(BaseModel):
    messages: list[MessageView]


class Suppressed(BaseModel):
    channel: str
    address: str
    reason: str


class SuppressionEntry(Suppressed):
    source: str
    at: datetime


class SuppressionList(BaseModel):
    suppressions: list[SuppressionEntry]


# ---------------------------------------------------------------- billing


class PlanVersion(BaseModel):
    effective_from: date
    plan_id: str


class PlanView(BaseModel):
    month: str
    plan: Plan
    is_default: bool = Field(description="no plan was ever set: the default plan applies")
    versions: list[PlanVersion]


class PlanChanged(BaseModel):
    plan: Plan
    effective_from: date
    released_holds: int = Field(description="held sends re-queued because the change may free them")


class PlanAuditEntry(BaseModel):
    at: datetime
    effective_from: date
    actor: dict[str, Any]
    before: dict[str, Any] | None = Field(description="the plan in force before, if any")
    after: dict[str, Any]


class PlanAudit(BaseModel):
    changes: list[PlanAuditEntry]


class RateCardIn(BaseModel):
    rates: list[dict[str, Any]] = Field(description="rate rows (country, price, ...)")
    effective_from: date | None = Field(
        default=None, description="the first day of a month (or the effective_from query)"
    )


class InvoicePreview(Invoice):
    preview: Literal[True]


class ClosedInvoice(Invoice):
    invoice_id: str
    tenant_id: str
    closed_at: datetime


class InvoiceSummary(BaseModel):
    invoice_id: str
    month: str
    currency: str
    subtotal: Decimal
    total: Decimal
    closed_at: datetime


class InvoiceList(BaseModel):
    invoices: list[InvoiceSummary]


class LineDifference(BaseModel):
    channel: str
    country: str
    category: str
    kind: str
    counters: int
    records: int
    messages: int


class Reconciliation(BaseModel):
    tenant_id: str
    month: str
    records: int
    messages: int
    units: int
    differences: list[LineDifference]
    recorded_but_not_billed: list[str]
    billed_but_not_recorded: list[str]
    ok: bool


class ReconciliationAll(BaseModel):
    month: str
    tenants: int
    tenants_with_usage: list[Reconciliation]
    ok: bool


class ReconcileAnswer(RootModel[Reconciliation | ReconciliationAll]):
    """One tenant's reconciliation with ``tenant_id``, else every tenant's."""


class TenantMargin(BaseModel):
    tenant_id: str
    currency: str
    lines: list[MarginLine]


class MarginReport(BaseModel):
    month: str
    tenants: list[TenantMargin]


class MonthClosed(BaseModel):
    month: str
    closed: list[str] = Field(description="invoice ids")
    failed: dict[str, str] = Field(description="tenant id: why its month did not close")


# ---------------------------------------------------------------- KPIs


class FactsIn(BaseModel):
    facts: list[dict[str, Any]] = Field(
        description="{date, metric, value, store_id?, platform?, market?, campaign?, sku?, owner?}"
    )


class FactProblem(BaseModel):
    index: int = Field(description="position in the posted facts, from 0")
    field: str = Field(description="the fact's field at fault (empty: the whole fact)")
    reason: str


class FactsImported(BaseModel):
    accepted: int
    superseded: int = Field(description="facts replaced by a later one for the same key")
    rejected: list[FactProblem]


class ReportIn(BaseModel):
    preset: str | None = None
    csv: str
    mapping: dict[str, Any] | None = None
    defaults: dict[str, Any] | None = None


class ImportProblem(BaseModel):
    line: int
    column: str = Field(description="the column as the file names it (empty: the whole line)")
    reason: str


class ReportImported(BaseModel):
    preset: str
    rows_read: int
    facts: int
    rejected: list[ImportProblem]
    skipped: list[ImportProblem]


class SourceFreshness(BaseModel):
    source: str
    last_fact_date: date | None
    last_import_at: datetime | None


class MetricFreshness(SourceFreshness):
    metric: str
    source: str | None  # type: ignore[assignment]


class MetricSources(BaseModel):
    sources: list[SourceFreshness]
    metrics: list[MetricFreshness]


class KpiPatch(BaseModel):
    """A manager sets target, thresholds and weight; an admin any field."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    builtin: str | None = None
    formula: str | None = None
    unit: Unit | None = None
    direction: Direction | None = None
    period: PeriodKind | None = None
    target: Target | Decimal | None = None
    thresholds: Thresholds | None = None
    weight: Decimal | None = None
    owner: str | None = None
    scope: Scope | None = None


class BuiltinKpi(BaseModel):
    key: str
    name: str
    formula: str
    unit: Unit
    direction: Direction


class KpiList(BaseModel):
    kpis: list[Kpi]
    builtins: list[BuiltinKpi]


class Freshness(BaseModel):
    stale: bool
    stale_metrics: list[str]
    metrics: dict[str, dict[str, Any]] = Field(
        description="per metric: source, last_fact_date, last_import_at, stale"
    )


class KpiEvaluation(KpiResult):
    """A KPI for a period: actual, target, attainment, status, pace and data freshness."""

    owner: str | None
    formula: str
    scope: dict[str, str]
    freshness: Freshness
    excluded_currencies: list[str] | None = Field(
        default=None, description="order amounts in other currencies than the reporting one"
    )


class TrendPoint(BaseModel):
    period: str
    actual: Decimal | None


class DashboardRow(KpiEvaluation):
    trend: list[TrendPoint]


class Dashboard(BaseModel):
    period: str
    kpis: list[DashboardRow]
    reads: int = Field(description="table reads this answer took")


class AuditEntry(BaseModel):
    at: datetime
    entity: str
    entity_id: str
    actor: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditLog(BaseModel):
    changes: list[AuditEntry]


class OwnerList(BaseModel):
    owners: list[Owner]


class OwnerScorecard(Scorecard):
    owner: str
    rows: list[KpiEvaluation]  # type: ignore[assignment]


class Scorecards(BaseModel):
    period: str
    scorecards: list[OwnerScorecard]


class ContractIn(BaseModel):
    """An agency contract (the agency is the path's) and the scope its KPIs are read over."""

    currency: str
    base_fee: Decimal = Decimal(0)
    rules: list[dict[str, Any]] = Field(
        default_factory=list, description="commission, tiered_commission, penalty and cap rules"
    )
    allow_refund: bool = False
    scope: Scope | None = None


class ContractDoc(BaseModel):
    contract: Contract
    scope: dict[str, str | None]


class AgencyStatement(Statement):
    scope: dict[str, str]
    final: bool = Field(description="the period is over: the statement will not change")


# ---------------------------------------------------------------- webhooks


class WebhookAnswer(BaseModel):
    """Queued (``accepted``, with its delivery id), or a topic LinkStar does not ingest, counted
    and dropped (``ignored``)."""

    status: Literal["accepted", "ignored"]
    delivery_id: str | None = None
    topic: str | None = None


class WhatsAppQueued(BaseModel):
    status: Literal["queued"]


# ---------------------------------------------------------------- costs and settlements

Month = Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2026-03"])]


class RecostJob(BaseModel):
    """A recost of the cost ledger's sums, queued by the change this answer made (the sums in
    ``GET /costs`` catch up with it in the background; ``recost`` there says how far)."""

    job_id: str
    # Open: each change that costs orders anew names itself (linkstar.costs.recost.request).
    reason: str = Field(
        description="the change that queued it",
        examples=["cost_model_changed", "fx_rates_posted", "settlement_imported"],
    )
    state: Literal["running", "done"]


class RecostStatus(RecostJob):
    """The tenant's latest recost: ``running`` until every page of orders is recosted."""

    requested_at: datetime
    finished_at: datetime | None = Field(default=None, description="set once it is done")
    orders_seen: int
    orders_changed: int = Field(description="orders whose sums the recost changed")


class FxRatesIn(BaseModel):
    """Daily rates: one unit of ``base`` buys ``rate`` units of ``quote`` on ``date``. A body
    with any invalid row is refused whole (``invalid_rates``, each problem naming its row)."""

    model_config = ConfigDict(extra="forbid")

    rates: list[FxRate] = Field(max_length=MAX_RATES_PER_REQUEST)


class FxRatesAccepted(BaseModel):
    accepted: int = Field(description="rows stored (a row repeated with the same rate once)")
    recost: RecostJob | None = Field(description="the orders those dates can price: none posted")


class CostGroup(Rollup):
    """One group's orders in one currency: revenue, every cost component (``missing`` counts the
    orders without each), CM1-3 and their margins in percent of revenue (``null`` when revenue
    is 0). Orders in a currency without a rate into the reporting one form a row of their own.
    """

    uncosted: dict[str, int] = Field(
        description="orders left out of the sums, by reason: " + ", ".join(ledger.UNCOSTED_REASONS)
    )


class UnallocatedAds(BaseModel):
    """Ad spend of a month and market that reached no order (in the reporting currency)."""

    month: Month
    market: str | None = Field(description="null: the spend named no market")
    amount: Decimal
    reason: str


class PreviousCosts(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: Day = Field(alias="from")
    to: Day
    total: list[CostGroup]


class CostReport(BaseModel):
    """Profit and its components for a period by group, from the cost ledger's sums, with ad
    spend allocated by revenue share within each market and month; the previous period's total
    over the same number of days."""

    model_config = ConfigDict(populate_by_name=True)

    period: str
    from_: Day = Field(alias="from")
    to: Day
    by: str = Field(json_schema_extra={"enum": list(cost_report.GROUPINGS)})
    currency: str = Field(description="the cost model's reporting currency")
    groups: list[CostGroup]
    total: list[CostGroup] = Field(description="every group together (one row per currency)")
    previous: PreviousCosts
    unallocated_ads: list[UnallocatedAds]
    ads_note: str | None = Field(description="why ads are missing on every order, if they are")
    reads: int = Field(description="table reads this answer took")
    recost: RecostStatus | None = Field(description="the latest recost, if any was ever queued")


class UnitEconomicsGroup(UnitEconomics):
    """One group's CAC, gross margin per customer at 30/60/90/180 days, LTV, LTV:CAC and
    payback; a figure that can't be worked out has ``value`` null and the ``reason``."""

    key: str
    gross_margin_rate: Decimal | None = Field(
        description="CM1 over what the group's buyers paid in the cohort months (4 places)"
    )
    cohort_months: list[Month] = Field(description="first-order months with customers")


class UnitEconomicsReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    period: str
    from_: Day = Field(alias="from")
    to: Day
    by: str = Field(json_schema_extra={"enum": list(cost_report.UE_GROUPINGS)})
    currency: str
    as_of: Day = Field(description="the last whole day: a horizon counts once reached by it")
    groups: list[UnitEconomicsGroup]
    unallocated_ad_spend: list[UnallocatedAds] = Field(description="by store or platform only")
    ads_note: str | None
    unconverted_currencies: list[str] = Field(
        description="cohort revenue left out: no rate into the reporting currency"
    )
    reads: int


class SettlementImported(BaseModel):
    """What a settlement report held and what became of it: the orders it names that LinkStar
    has (their actual fees now replace the cost model's) and those it has not yet."""

    recost: RecostJob | None = Field(description="queued when the import changed orders' fees")
    store_id: str
    settlement_id: str
    currency: str
    start: datetime | None
    end: datetime | None
    deposit_date: datetime | None
    total_amount: Decimal
    orders_matched: int
    orders_unknown: list[str] = Field(description="AmazonOrderIds without a LinkStar order (yet)")
    totals: dict[Component, Decimal] = Field(description="actual fees summed per component")
    unmapped: dict[str, int] = Field(description="order rows of no known fee, by description")
    not_costs: dict[str, int] = Field(description="revenue and withheld tax rows, by description")
    without_order: dict[str, int] = Field(description="rows naming no order, by description")
    replaced: bool = Field(description="the settlement had been imported before")


# ---------------------------------------------------------------- funnel and cohorts


class RepeatGroup(BaseModel):
    customers: int = Field(description="first purchase in the period")
    repeat_customers: int
    repeat_rate: Decimal | None = Field(description="so far, 4 places (null: no customers)")


class RepeatWindow(BaseModel):
    first_orders_from: Day
    first_orders_to: Day
    days: int
    complete_on: Day = Field(description="the day the count becomes final")
    complete: bool
    groups: dict[str, RepeatGroup]


class RepeatProgress(BaseModel):
    """The funnel's repeat stage: when its counts become final, and each group's cohort."""

    stage: Literal["repeat_30d", "repeat_60d", "repeat_90d"]
    as_of: Day
    current: RepeatWindow
    previous: RepeatWindow


class FunnelView(FunnelReport):
    """Each group's stage counts and step conversions for the period and the previous one, the
    change, and the drop-offs ranked by the orders they cost."""

    by: str = Field(json_schema_extra={"enum": list(funnel_service.GROUPINGS)})
    reads: int = Field(description="table reads this answer took")
    repeat: RepeatProgress | None = Field(description="null: the funnel shows no repeat stage")


class CohortReport(BaseModel):
    """Per first-order month: customers, and at each window the repeat rate and revenue per
    customer (withheld, with the day it completes, while the window is open)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Month = Field(alias="from")
    to: Month
    currency: str
    as_of: Day
    windows: list[int]
    cohorts: list[Cohort]
    unconverted_currencies: list[str] = Field(
        description="revenue in these currencies is left out: no rate into currency"
    )
    reads: int


# ---------------------------------------------------------------- lists and media (stop 14)


class FlowPresetView(BaseModel):
    """A ready-made flow a tenant can enable with ``POST /flows {"preset": key}``."""

    key: str
    name: str
    channels: list[str]  # every channel its send steps (and their fallbacks) may use
    trigger: str  # the event it starts on ("order.paid") or its segment ("segment:dormant")
    description: str  # what it does, in the reader's language
    enabled_as: list[str]  # ids of this tenant's flows made from it (empty: not enabled yet)


class FlowPresetList(BaseModel):
    presets: list[FlowPresetView]


class UsageAlertView(BaseModel):
    """A usage alert that fired: which threshold of which month, what crossed it, and when."""

    month: str
    key: str  # "quota:sms:80", "spend:100": one per threshold and month
    kind: str  # "quota" (a channel's included units) or "spend" (the spend limit)
    channel: str | None  # a quota's channel
    percent: int  # the threshold, a percentage of the quota or limit
    used: str | None  # units (quota) or money (spend) when it fired; None on older alerts
    limit: str | None  # the included units or the spend limit then
    currency: str | None
    blocks_sending: bool  # the hard cap's 100%: sends are held
    message: str  # in the reader's language
    fired_at: str


class UsageAlertList(BaseModel):
    alerts: list[UsageAlertView]


class UploadRequest(BaseModel):
    """The file the browser is about to upload, as it knows it."""

    model_config = ConfigDict(extra="forbid")

    filename: Annotated[str, Field(min_length=1, max_length=255, description="as the user's")]
    content_type: Annotated[str, Field(min_length=1, max_length=255, examples=["image/png"])]
    size: Annotated[int, Field(ge=1, description="bytes")]


class UploadForm(BaseModel):
    """POST ``fields`` (each as a form field, in this order) and then the ``file`` as
    ``multipart/form-data`` to ``url`` before ``expires_at``; the file must be ``max_bytes`` at
    most and of the requested type. Templates name the file by ``key``."""

    key: str = Field(description="the file's key in your media folder, as templates name it")
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int


class MediaFileView(BaseModel):
    key: str = Field(description="relative to your media folder, as templates name it")
    size: int = Field(description="bytes")
    content_type: str
    last_modified: datetime


class MediaPage(BaseModel):
    files: list[MediaFileView]
    next_token: str | None = Field(description="pass as next_token for the next page")
