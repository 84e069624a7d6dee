"""Key builders (see the table in ``linkstar.store``)."""

from __future__ import annotations


def tenant(tid: str) -> dict[str, str]:
    return {"pk": f"T#{tid}", "sk": "TENANT"}


def api_key(tid: str, key_hash: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#KEY#{key_hash}", "sk": "KEY"}


def api_keys_index(tid: str) -> str:
    return f"T#{tid}#KEYS"


def store(tid: str, store_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#STORE#{store_id}", "sk": "STORE"}


def stores_index(tid: str) -> str:
    return f"T#{tid}#STORES"


def store_stats(tid: str, store_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#STORE#{store_id}", "sk": "STATS"}


def order(tid: str, order_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#ORDER#{order_id}", "sk": "ORDER"}


def orders_index(tid: str) -> str:
    return f"T#{tid}#ORDERS"


def customer(tid: str, customer_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#CUST#{customer_id}", "sk": "CUSTOMER"}


def customers_index(tid: str) -> str:
    return f"T#{tid}#CUSTOMERS"


def checkout(tid: str, store_id: str, token: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#CHECKOUT#{store_id}#{token}", "sk": "CHECKOUT"}


def aggregate(tid: str, day: str, store_id: str, market: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#AGG#{day[:7]}", "sk": f"{day}#{store_id}#{market}"}


def aggregate_month(tid: str, month: str) -> str:
    return f"T#{tid}#AGG#{month}"


def outbox(tid: str, event_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#EVT#{event_id}", "sk": f"EVT#{event_id}"}


def amazon_seller(seller_id: str) -> dict[str, str]:
    """Global (not tenant-scoped) routing item: which store an SP-API SellerId belongs to."""
    return {"pk": f"AMZSELLER#{seller_id}", "sk": "ROUTE"}


def inventory_partition(tid: str, store_id: str) -> str:
    return f"T#{tid}#INV#{store_id}"


def inventory(tid: str, store_id: str, sku: str, market: str) -> dict[str, str]:
    return {"pk": inventory_partition(tid, store_id), "sk": f"{sku}#{market}"}


def import_job(tid: str, store_id: str, job_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#STORE#{store_id}", "sk": f"IMPORT#{job_id}"}


# ---------------------------------------------------------------- outreach


def contact(tid: str, contact_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#CONTACT#{contact_id}", "sk": "CONTACT"}


def contacts_index(tid: str) -> str:
    return f"T#{tid}#CONTACTS"


def consent_record(tid: str, contact_id: str, at: str, channel: str, purpose: str) -> dict:
    return {"pk": f"T#{tid}#CONTACT#{contact_id}", "sk": f"CONSENT#{at}#{channel}#{purpose}"}


def engagement(tid: str, contact_id: str, sent_at: str, message_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#CONTACT#{contact_id}", "sk": f"ENGAGED#{sent_at}#{message_id}"}


def contact_cap(tid: str, contact_id: str, channel: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#CONTACT#{contact_id}", "sk": f"CAP#{channel}"}


def suppression(tid: str, channel: str, address: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#SUPP#{channel}#{address}", "sk": "SUPP"}


def suppressions_index(tid: str) -> str:
    return f"T#{tid}#SUPPS"


def template(tid: str, template_id: str) -> str:
    return f"T#{tid}#TPL#{template_id}"


def templates_index(tid: str) -> str:
    return f"T#{tid}#TPLS"


def flow(tid: str, flow_id: str) -> dict[str, str]:
    """A tenant's flows share one small partition: every domain event lists them, and a
    base-table query is strongly consistent (a flow just enabled is seen at once)."""
    return {"pk": flows_partition(tid), "sk": f"FLOW#{flow_id}"}


def flows_partition(tid: str) -> str:
    return f"T#{tid}#FLOWS"


def flow_stats(tid: str, flow_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#FLOW#{flow_id}", "sk": "STATS"}


def flow_entry(tid: str, flow_id: str, contact_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#FLOW#{flow_id}", "sk": f"ENTRY#{contact_id}"}


def segment_flow(tid: str, flow_id: str) -> dict[str, str]:
    """Global registry of flows with a segment trigger, so the daily job finds their tenants."""
    return {"pk": "SEGFLOWS", "sk": f"T#{tid}#{flow_id}"}


def run(tid: str, run_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#RUN#{run_id}", "sk": "RUN"}


def exit_watch(tid: str, event_type: str, match: str, digest: str, run_id: str) -> dict:
    return {"pk": exit_watch_partition(tid, event_type, match, digest), "sk": f"RUN#{run_id}"}


def exit_watch_partition(tid: str, event_type: str, match: str, digest: str) -> str:
    return f"T#{tid}#WATCH#{event_type}#{match}#{digest}"


def message(tid: str, message_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#MSG#{message_id}", "sk": "MSG"}


def contact_messages_index(tid: str, contact_id: str) -> str:
    return f"T#{tid}#CMSG#{contact_id}"


def flow_messages_index(tid: str, flow_id: str) -> str:
    return f"T#{tid}#FMSG#{flow_id}"


def inbox(tid: str, contact_id: str) -> str:
    return f"T#{tid}#INBOX#{contact_id}"


def attribution(tid: str, order_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#ATTR#{order_id}", "sk": "ATTR"}


def reputation(tid: str, day: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#REP#{day[:7]}", "sk": day}


def reputation_month(tid: str, month: str) -> str:
    return f"T#{tid}#REP#{month}"


def outreach_settings(tid: str) -> dict[str, str]:
    return {"pk": f"T#{tid}", "sk": "OUTREACH"}


def provider_message(provider: str, provider_message_id: str) -> dict[str, str]:
    """Global routing item: which tenant's message a provider's feedback is about."""
    return {"pk": f"PMSG#{provider}#{provider_message_id}", "sk": "ROUTE"}


def inbound_route(channel: str, recipient: str, tid: str) -> dict[str, str]:
    """Global routing item: a phone LinkStar messaged for a tenant, so a STOP reply reaches
    every tenant that texted it (opting out too widely is the lawful side to err on)."""
    return {"pk": inbound_routes(channel, recipient), "sk": f"T#{tid}"}


def inbound_routes(channel: str, recipient: str) -> str:
    return f"INBOUND#{channel}#{recipient}"


TIMER_SHARDS = 4


def timer(shard: int, due: str, tid: str, kind: str, ref: str) -> dict[str, str]:
    """Durable timers, global and sharded so the minute tick reads a few small partitions."""
    return {"pk": timer_partition(shard), "sk": f"{due}#{tid}#{kind}#{ref}"}


def timer_partition(shard: int) -> str:
    return f"TIMER#{shard}"


# ---------------------------------------------------------------- billing

USAGE_SHARDS = 10
"""Counter shards per tenant-month, each its own partition key: DynamoDB takes 1,000 writes/s per
partition, so ten partitions carry ten times one counter, and a month's counters are still one
BatchGetItem of ten keys."""


def usage_month(tid: str, month: str) -> str:
    """The alerts a tenant's month has fired (``ALERT#<key>``)."""
    return f"T#{tid}#USAGE#{month}"


def usage_counter(tid: str, month: str, shard: int) -> dict[str, str]:
    return {"pk": f"T#{tid}#USAGE#{month}#{shard:02d}", "sk": "CTR"}


def usage_alert(tid: str, month: str, key: str) -> dict[str, str]:
    return {"pk": usage_month(tid, month), "sk": f"ALERT#{key}"}


def usage_records(tid: str, month: str, shard: int) -> str:
    return f"T#{tid}#UREC#{month}#{shard:02d}"


def usage_record(tid: str, month: str, shard: int, message_id: str) -> dict[str, str]:
    """One billable message's units, keyed by its message id (written with its claim)."""
    return {"pk": usage_records(tid, month, shard), "sk": message_id}


def plan_versions(tid: str) -> str:
    return f"T#{tid}#PLAN"


def plan_version(tid: str, effective_from: str) -> dict[str, str]:
    return {"pk": plan_versions(tid), "sk": f"V#{effective_from}"}


def plan_audits(tid: str) -> str:
    return f"T#{tid}#PLANAUDIT"


def plan_audit(tid: str, at: str, digest: str) -> dict[str, str]:
    return {"pk": plan_audits(tid), "sk": f"{at}#{digest}"}


def billing_holds(tid: str) -> str:
    """Messages held by billing (hard cap, unpriceable): lifting the cause re-queues them."""
    return f"T#{tid}#BILLHOLD"


def billing_hold(tid: str, message_id: str) -> dict[str, str]:
    return {"pk": billing_holds(tid), "sk": message_id}


def invoice(tid: str, month: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#INVOICE", "sk": month}


def invoices(tid: str) -> str:
    return f"T#{tid}#INVOICE"


def credit_balance(tid: str) -> dict[str, str]:
    return {"pk": f"T#{tid}", "sk": "CREDITS"}


TENANT_REGISTRY = "TENANTS"
"""Global partition naming every tenant (sk ``T#<tid>``), for the jobs that visit them all, such
as the month close."""


def tenant_registry(tid: str) -> dict[str, str]:
    return {"pk": TENANT_REGISTRY, "sk": f"T#{tid}"}


# ---------------------------------------------------------------- KPIs


def metric_month(tid: str, metric: str, month: str) -> str:
    """One metric's imported facts of one month: a KPI reads a month of a metric in one query."""
    return f"T#{tid}#METRIC#{metric}#{month}"


def metric_fact(tid: str, metric: str, day: str, fact_key: str) -> dict[str, str]:
    return {"pk": metric_month(tid, metric, day[:7]), "sk": fact_key}


def metric_sources(tid: str) -> str:
    return f"T#{tid}#SOURCES"


def metric_source(tid: str, source: str) -> dict[str, str]:
    return {"pk": metric_sources(tid), "sk": source}


def kpis(tid: str) -> str:
    return f"T#{tid}#KPIS"


def kpi(tid: str, kpi_id: str) -> dict[str, str]:
    return {"pk": kpis(tid), "sk": f"KPI#{kpi_id}"}


def kpi_audits(tid: str) -> str:
    return f"T#{tid}#KPIAUDIT"


def kpi_audit(tid: str, at: str, digest: str) -> dict[str, str]:
    return {"pk": kpi_audits(tid), "sk": f"{at}#{digest}"}


def kpi_owner(tid: str, owner_id: str) -> dict[str, str]:
    return {"pk": kpis(tid), "sk": f"OWNER#{owner_id}"}


def contract(tid: str, agency: str) -> dict[str, str]:
    return {"pk": kpis(tid), "sk": f"CONTRACT#{agency}"}


def kpi_status(tid: str, kpi_id: str, period: str) -> dict[str, str]:
    """The last status a KPI's owner was told of for a period (alerts fire on a change)."""
    return {"pk": f"T#{tid}#KPISTATE#{kpi_id}", "sk": period}


# ---------------------------------------------------------------- funnel and costs


def funnel_config(tid: str) -> dict[str, str]:
    return {"pk": f"T#{tid}", "sk": "FUNNEL"}


def cohorts(tid: str) -> str:
    """A tenant's repeat-purchase cohorts, one item per first-order month: a year of cohorts is
    one small query."""
    return f"T#{tid}#COHORT"


def cohort(tid: str, month: str) -> dict[str, str]:
    return {"pk": cohorts(tid), "sk": month}


def cost_model(tid: str) -> dict[str, str]:
    return {"pk": f"T#{tid}", "sk": "COSTMODEL"}


def fx_month(tid: str, month: str) -> str:
    return f"T#{tid}#FX#{month}"


def fx_rate(tid: str, day: str, base: str, quote: str) -> dict[str, str]:
    """One daily rate (re-posting a day's rate replaces it)."""
    return {"pk": fx_month(tid, day[:7]), "sk": f"{day}#{base}#{quote}"}


# --- cost ledger (linkstar.costs.ledger) ----------------------------------------------------


def order_cost(tid: str, order_id: str) -> dict[str, str]:
    """Beside the order's item: what the order last added to the cost sums."""
    return {"pk": f"T#{tid}#ORDER#{order_id}", "sk": "COST"}


def cost_month(tid: str, month: str) -> str:
    return f"T#{tid}#COST#{month}"


def cost_sum(tid: str, day: str, store_id: str, market: str) -> dict[str, str]:
    return {"pk": cost_month(tid, day[:7]), "sk": f"{day}#{store_id}#{market}"}


def cost_sku_month(tid: str, month: str) -> str:
    return f"T#{tid}#COSTSKU#{month}"


def cost_sku(tid: str, day: str, sku: str, store_id: str, market: str) -> dict[str, str]:
    return {"pk": cost_sku_month(tid, day[:7]), "sk": f"{day}#{sku}#{store_id}#{market}"}


def recost_status(tid: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#RECOST", "sk": "STATUS"}


# --- Amazon settlement fees (linkstar.store.settlements) -------------------------------------


def settlement(tid: str, store_id: str, settlement_id: str) -> dict[str, str]:
    """An imported Amazon settlement's summary, beside its store (as import jobs are)."""
    return {"pk": f"T#{tid}#STORE#{store_id}", "sk": f"SETTLEMENT#{settlement_id}"}


def settlement_fees_partition(tid: str, store_id: str, settlement_id: str) -> str:
    """One settlement's fees, an item per order: what a re-import of it replaces."""
    return f"T#{tid}#SETTLE#{store_id}#{settlement_id}"


def settlement_fees(tid: str, store_id: str, settlement_id: str, order_id: str) -> dict[str, str]:
    return {
        "pk": settlement_fees_partition(tid, store_id, settlement_id),
        "sk": f"ORDER#{order_id}",
    }


def order_fees_index(tid: str, order_id: str) -> str:
    """gsi1 partition of an order's settlement fees, one item per settlement that names it."""
    return f"T#{tid}#ORDERFEES#{order_id}"


# --- actual costs from any source (linkstar.store.cost_actuals) -----------------------------


def cost_actuals_batch(tid: str, source: str) -> dict[str, str]:
    """A batch of actual costs (``POST /cost-actuals?source=``): its summary, one partition per
    tenant so the batches can be listed."""
    return {"pk": f"T#{tid}#ACTUALS", "sk": source}


def cost_actuals_partition(tid: str, source: str) -> str:
    """One batch's costs, an item per order and currency: what re-posting the source replaces."""
    return f"T#{tid}#ACTUALS#{source}"


def cost_actuals(tid: str, source: str, order_id: str, currency: str) -> dict[str, str]:
    """An order's costs in one currency from one batch; its gsi1 partition is the order's
    :func:`order_fees_index`, beside its settlement fees, so one query reads every actual."""
    return {"pk": cost_actuals_partition(tid, source), "sk": f"ORDER#{order_id}#{currency}"}


def cost_campaign_month(tid: str, month: str) -> str:
    return f"T#{tid}#COSTCMP#{month}"


def cost_campaign(tid: str, day: str, campaign: str, store_id: str, market: str) -> dict[str, str]:
    return {"pk": cost_campaign_month(tid, day[:7]), "sk": f"{day}#{campaign}#{store_id}#{market}"}


def actual_costs_marker(tid: str) -> dict[str, str]:
    """Present once a tenant has imported any actual costs (a settlement or a batch)."""
    return {"pk": f"T#{tid}", "sk": "ACTUALCOSTS"}
