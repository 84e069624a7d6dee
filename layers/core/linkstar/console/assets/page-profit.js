// Profit: GET /costs?period=&by=market as a waterfall per market, from revenue down through each
// cost to CM1, CM2 and CM3, with what is missing and what could not be costed; then a drill-down
// to one order: GET /orders?market=&from=&to= and GET /orders/{id}/profit (components, how each
// was worked out, and what is missing).

import { api, periodRange, query } from "./api.js";
import { COLORS, chartBox } from "./charts.js";
import { countryName, date, dateTime, int, key, list, money, percentNumber, period, t, tx } from "./i18n.js";
import { chip, empty, errorBox, h, kv, loading, section, table } from "./ui.js";

const CM2_COSTS = ["commission", "payment_fees", "logistics", "taxes", "duties", "returns", "fx"];

/** Waterfall steps: [key, kind, low, high, amount] with kind total | cost | subtotal. */
function steps(r) {
  const out = [];
  let running = Number(r.revenue);
  out.push(["revenue", "total", 0, running, running]);
  const cost = (name) => {
    const raw = r.components[name];
    const amount = raw === null || raw === undefined ? 0 : Number(raw);
    const after = running - amount;
    out.push([name, "cost", Math.min(running, after), Math.max(running, after), -amount]);
    running = after;
  };
  const subtotal = (name) => out.push([name, "subtotal", Math.min(0, Number(r[name])), Math.max(0, Number(r[name])), Number(r[name])]);
  cost("cogs");
  subtotal("cm1");
  CM2_COSTS.forEach(cost);
  subtotal("cm2");
  cost("ads");
  subtotal("cm3");
  return out;
}

export function waterfall(r, missing = {}) {
  const data = steps(r);
  const currency = r.currency;
  const color = { total: COLORS.primary, cost: COLORS.bad, subtotal: COLORS.subtotal };
  const label = (name) => tx("profit.component", name);
  const option = {
    grid: { left: 8, right: 88, top: 8, bottom: 8, containLabel: true },
    tooltip: {
      formatter: (p) => {
        const [name, , , , amount] = data[p.dataIndex];
        const note = missing[name] ? `<br>${t("profit.missing_on", { count: int(missing[name]) })}` : "";
        return `${label(name)}: ${money(amount, currency)}${note}`;
      },
    },
    yAxis: { type: "category", inverse: true, data: data.map(([name]) => label(name)), axisTick: { show: false } },
    xAxis: { type: "value", axisLabel: { formatter: (v) => money(v, currency, { notation: "compact", maximumFractionDigits: 1 }) } },
    series: [
      {
        type: "custom",
        encode: { x: [1, 2], y: 0 },
        data: data.map(([, kind, low, high], i) => [i, low, high, kind]),
        renderItem: (params, apiCtx) => {
          const i = apiCtx.value(0);
          const [name, kind, low, high, amount] = data[i];
          const start = apiCtx.coord([low, i]);
          const end = apiCtx.coord([high, i]);
          const band = apiCtx.size([0, 1])[1] * 0.62;
          const fill = missing[name] ? COLORS.warn : color[kind];
          return {
            type: "group",
            children: [
              {
                type: "rect",
                shape: { x: start[0], y: start[1] - band / 2, width: Math.max(end[0] - start[0], 1), height: band },
                style: { fill },
              },
              {
                type: "text",
                style: {
                  x: Math.max(start[0], end[0]) + 6,
                  y: start[1],
                  text: money(amount === 0 ? 0 : amount, currency, Math.abs(amount) >= 100 ? { maximumFractionDigits: 0 } : {}),
                  fill: "#3b4a5a",
                  fontSize: 11,
                  verticalAlign: "middle",
                  fontWeight: kind === "cost" ? "normal" : "bold",
                },
              },
            ],
          };
        },
      },
    ],
  };
  return chartBox(option, { height: 40 + data.length * 24, label: t("profit.waterfall") });
}

function missingChips(missing) {
  const entries = Object.entries(missing || {});
  if (!entries.length) return h("p", { class: "small ok-text" }, t("profit.nothing_missing"));
  return h(
    "div",
    { class: "chips" },
    entries.map(([c, n]) => chip(t("profit.missing_chip", { component: tx("profit.component", c), count: int(n) }), "warn")),
  );
}

function groupCard(g) {
  const uncosted = Object.entries(g.uncosted || {});
  return section(
    g.key === "total" ? t("profit.all_markets") : countryName(g.key),
    h(
      "p",
      { class: "small" },
      t("profit.group_line", { orders: int(g.orders), revenue: money(g.revenue, g.currency), cm3: money(g.cm3, g.currency), margin: percentNumber(g.cm3_margin) }),
    ),
    waterfall(g, g.missing),
    missingChips(g.missing),
    g.estimated ? h("p", { class: "small muted" }, t("profit.estimated", { count: int(g.estimated) })) : null,
    uncosted.length
      ? h("p", { class: "small warn-text" }, uncosted.map(([reason, n]) => t("profit.uncosted", { count: int(n), reason: tx("profit.uncosted_reason", reason) })).join(" · "))
      : null,
  );
}

function orderDetail(p) {
  const currency = p.currency;
  const missing = Object.fromEntries((p.missing || []).map((m) => [m, 1]));
  return h(
    "div",
    { class: "stack order-detail" },
    h("h3", {}, t("profit.order_title", { order: p.order_id })),
    kv([
      [t("profit.date"), date(p.date)],
      [t("profit.platform"), tx("platform", p.platform)],
      [t("profit.market"), countryName(p.market)],
      [t("profit.revenue"), money(p.revenue, currency)],
      [t("profit.tax_collected"), money(p.tax_collected, currency)],
      [t("profit.profit"), h("strong", {}, money(p.profit, currency))],
    ]),
    waterfall(p, missing),
    p.missing && p.missing.length
      ? h("div", { class: "banner warn" }, t("profit.order_missing", { components: list(p.missing.map((m) => tx("profit.component", m))) }))
      : null,
    table(
      [
        { label: t("profit.component_label"), value: ([c]) => tx("profit.component", c) },
        { label: t("profit.amount"), value: ([c, v]) => (v === null ? t("profit.missing") : money(v, currency)), num: true },
        { label: t("profit.source"), value: ([c]) => tx("profit.source", p.details[c] && p.details[c].source) },
        { label: t("profit.how"), value: ([c]) => (p.details[c] && p.details[c].how) || "" },
      ],
      Object.entries(p.components),
      { rowClass: ([, v]) => (v === null ? "row-warn" : "") },
    ),
    p.lines && p.lines.length
      ? table(
          [
            { label: t("profit.sku"), value: (l) => l.sku },
            { label: t("profit.quantity"), value: (l) => int(l.quantity), num: true },
            { label: t("profit.revenue"), value: (l) => money(l.revenue, currency), num: true },
            { label: t("profit.component.cogs"), value: (l) => (l.cogs === null ? t("profit.missing") : money(l.cogs, currency)), num: true },
          ],
          p.lines,
        )
      : null,
  );
}

function drillDown(report, ctx) {
  const st = ctx.state;
  const markets = report.groups.map((g) => g.key);
  const select = h("select", { name: "market" }, markets.map((m) => h("option", { value: m, selected: m === st.market }, countryName(m))));
  const listOrders = async (event) => {
    if (event) event.preventDefault();
    st.market = select.value;
    st.orders = "loading";
    st.profit = null;
    ctx.redraw();
    try {
      const range = periodRange(ctx.period);
      st.orders = (await api(`/orders${query({ market: st.market, ...range, limit: 25 })}`)).orders;
    } catch (error) {
      st.orders = { error };
    }
    ctx.redraw();
  };
  const openOrder = async (order) => {
    st.profit = "loading";
    ctx.redraw();
    try {
      st.profit = await api(`/orders/${encodeURIComponent(order.order_id)}/profit`);
    } catch (error) {
      st.profit = { error };
    }
    ctx.redraw();
  };
  let list = null;
  if (st.orders === "loading") list = loading();
  else if (st.orders && st.orders.error) list = errorBox(st.orders.error);
  else if (Array.isArray(st.orders)) {
    list = st.orders.length
      ? table(
          [
            { label: t("profit.order"), value: (o) => o.name || o.external_id },
            { label: t("profit.placed"), value: (o) => dateTime(o.created_at) },
            { label: t("profit.status"), value: (o) => tx("order_status", o.status) },
            { label: t("profit.total"), value: (o) => money(o.total, o.currency), num: true },
          ],
          st.orders,
          { onRowClick: openOrder },
        )
      : empty(t("profit.no_orders"));
  }
  let detail = null;
  if (st.profit === "loading") detail = loading();
  else if (st.profit && st.profit.error) detail = errorBox(st.profit.error);
  else if (st.profit) detail = orderDetail(st.profit);
  return section(
    t("profit.drill_down"),
    markets.length
      ? h("form", { class: "inline-form", onsubmit: listOrders }, h("label", {}, t("profit.market"), " ", select), h("button", { type: "submit" }, t("profit.list_orders")))
      : empty(t("profit.no_orders")),
    list,
    detail,
  );
}

export default {
  title: key("page.profit"),
  async load(ctx) {
    try {
      return { report: await api(`/costs${query({ period: ctx.period, by: "market" })}`) };
    } catch (error) {
      if (error.code === "cost_model_missing") return { report: null };
      throw error;
    }
  },
  async reloadState(ctx) {
    const st = ctx.state;
    if (st.profit && st.profit.order_id) {
      st.profit = await api(`/orders/${encodeURIComponent(st.profit.order_id)}/profit`).catch(() => st.profit);
    }
  },
  render({ report }, ctx) {
    if (!report) return section(t("page.profit"), empty(t("profit.no_model"), t("profit.no_model_hint")));
    const recost = report.recost;
    const running = recost && recost.state === "running";
    return h(
      "div",
      { class: "stack" },
      h("p", { class: "muted" }, t("profit.period_note", { period: period(report.period), currency: report.currency })),
      running ? h("div", { class: "banner info" }, t("profit.recosting", { since: dateTime(recost.requested_at) })) : null,
      report.total.length
        ? h("div", { class: "stack" }, report.total.map(groupCard))
        : section(t("profit.all_markets"), empty(t("state.no_data"), t("profit.no_orders_hint"))),
      report.groups.length ? h("div", { class: "grid-2" }, report.groups.map(groupCard)) : null,
      report.ads_note || report.unallocated_ads.length
        ? section(
            t("profit.ads"),
            report.ads_note ? h("p", { class: "small" }, t("profit.ads_note", { note: report.ads_note })) : null,
            report.unallocated_ads.length
              ? table(
                  [
                    { label: t("profit.ads_month"), value: (u) => period(u.month) },
                    { label: t("profit.ads_key"), value: (u) => (u.market ? countryName(u.market) : t("profit.ads_no_market")) },
                    { label: t("profit.amount"), value: (u) => money(u.amount, report.currency), num: true },
                    { label: t("profit.why"), value: (u) => u.reason },
                  ],
                  report.unallocated_ads,
                )
              : null,
          )
        : null,
      drillDown(report, ctx),
    );
  },
};
