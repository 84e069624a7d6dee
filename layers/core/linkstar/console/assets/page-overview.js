// Overview: the KPI cards of GET /kpis/dashboard (actual against target, attainment, status,
// pace, freshness) and orders and GMV by platform and by market from GET /reports/daily (stores
// from GET /stores name each store's platform).

import { api, periodRange, query } from "./api.js";
import { COLORS, baseGrid, chartBox } from "./charts.js";
import { byUnit, countryName, date, int, key, list, money, num, pct, period, t, tx } from "./i18n.js";
import { badge, chip, empty, h, section, table } from "./ui.js";

export function freshnessOf(row) {
  const freshness = row.freshness || {};
  const metrics = freshness.metrics || {};
  const staleMetrics = freshness.stale_metrics || [];
  // The oldest latest-day among the metrics that matter: the stale ones when some are stale.
  const named = freshness.stale ? staleMetrics : Object.keys(metrics);
  const days = named.map((m) => metrics[m] && metrics[m].last_fact_date).filter(Boolean).sort();
  const never = named.some((m) => !(metrics[m] && metrics[m].last_fact_date));
  return { stale: Boolean(freshness.stale), stale_metrics: staleMetrics, oldest: never ? null : days[0] || null };
}

export function freshnessNote(row) {
  const f = freshnessOf(row);
  if (f.stale) {
    return chip(
      f.oldest
        ? t("kpi.stale_since", { metrics: list(f.stale_metrics), date: date(f.oldest) })
        : t("kpi.stale_never", { metrics: list(f.stale_metrics) }),
      "warn stale",
    );
  }
  return h("span", { class: "muted small" }, f.oldest ? t("kpi.fresh_as_of", { date: date(f.oldest) }) : "");
}

export function attainmentBar(row) {
  const value = row.attainment === null ? null : Number(row.attainment);
  const width = value === null ? 0 : Math.max(0, Math.min(value, 1)) * 100;
  return h(
    "div",
    { class: `attain status-${row.status}` },
    h("div", { class: "attain-track" }, h("div", { class: "attain-fill", style: { width: `${width}%` } })),
    h("span", { class: "attain-value" }, value === null ? t("kpi.no_attainment") : t("kpi.attainment_value", { value: pct(value) })),
  );
}

/** A KPI is measured over its own period (a monthly KPI over the month): when the period picked
 * is another (a week, a quarter), the card says which one it shows. */
function kpiCard(row, picked) {
  const open = () => (location.hash = `#/kpi/${encodeURIComponent(row.kpi_id)}`);
  return h(
    "article",
    { class: `card kpi-card status-${row.status}`, tabindex: "0", role: "link", onclick: open, onkeydown: (e) => e.key === "Enter" && open(), dataset: { kpi: row.kpi_id } },
    h("header", {}, h("h3", {}, row.name), badge(row.status)),
    h(
      "div",
      { class: "kpi-numbers" },
      h("span", { class: "kpi-actual" }, row.actual === null ? t("kpi.no_value") : byUnit(row.actual, row.unit)),
      h("span", { class: "muted" }, row.target === null ? t("kpi.no_target") : t("kpi.of_target", { target: byUnit(row.target, row.unit) })),
    ),
    attainmentBar(row),
    h(
      "p",
      { class: "small" },
      row.in_progress
        ? t("kpi.pace_line", { pace: byUnit(row.pace, row.unit), projected: byUnit(row.projected, row.unit), elapsed: row.elapsed_days, days: row.days })
        : t("kpi.closed_line", { period: period(row.period) }),
    ),
    row.period && picked && row.period !== picked ? h("p", { class: "small muted kpi-own-period" }, t("kpi.own_period", { period: period(row.period) })) : null,
    row.reason ? h("p", { class: "small muted" }, t("kpi.reason", { reason: row.reason })) : null,
    row.excluded_currencies ? h("p", { class: "small muted" }, t("kpi.excluded_currencies", { currencies: list(row.excluded_currencies) })) : null,
    h("footer", {}, freshnessNote(row), row.owner ? h("span", { class: "muted small" }, t("kpi.owner", { owner: row.owner })) : null),
  );
}

function addMoney(into, amounts) {
  for (const [currency, amount] of Object.entries(amounts || {})) {
    into[currency] = (into[currency] || 0) + Number(amount);
  }
}

/** Totals of GET /reports/daily grouped by a function of the row. */
function grouped(totals, keyOf) {
  const groups = new Map();
  for (const row of totals) {
    const group = keyOf(row);
    const slot = groups.get(group) || { key: group, orders: 0, units: 0, cancelled: 0, gmv: {} };
    slot.orders += row.orders;
    slot.units += row.units;
    slot.cancelled += row.cancelled;
    addMoney(slot.gmv, row.gmv);
    groups.set(group, slot);
  }
  return [...groups.values()].sort((a, b) => b.orders - a.orders);
}

function mainCurrency(groups) {
  const all = {};
  for (const g of groups) addMoney(all, g.gmv);
  return Object.entries(all).sort((a, b) => b[1] - a[1])[0]?.[0] || null;
}

function salesBlock(title, groups, labelOf) {
  if (!groups.length) return section(title, empty(t("overview.no_orders"), t("overview.no_orders_hint")));
  const currency = mainCurrency(groups);
  const option = {
    grid: { ...baseGrid(), top: 40 },
    legend: { top: 0, data: [t("overview.orders"), t("overview.gmv_in", { currency })] },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: groups.map((g) => labelOf(g.key)) },
    yAxis: [
      { type: "value", name: t("overview.orders"), minInterval: 1 },
      { type: "value", name: currency, axisLabel: { formatter: (v) => num(v, { notation: "compact" }) } },
    ],
    series: [
      { name: t("overview.orders"), type: "bar", data: groups.map((g) => g.orders), itemStyle: { color: COLORS.primary } },
      {
        name: t("overview.gmv_in", { currency }),
        type: "bar",
        yAxisIndex: 1,
        data: groups.map((g) => g.gmv[currency] || 0),
        itemStyle: { color: COLORS.secondary },
        tooltip: { valueFormatter: (v) => money(v, currency) },
      },
    ],
  };
  return section(
    title,
    chartBox(option, { height: 240, label: title }),
    table(
      [
        { label: t("overview.group"), value: (g) => labelOf(g.key) },
        { label: t("overview.orders"), value: (g) => int(g.orders), num: true },
        { label: t("overview.units"), value: (g) => int(g.units), num: true },
        { label: t("overview.cancelled"), value: (g) => int(g.cancelled), num: true },
        {
          label: t("overview.gmv"),
          value: (g) => Object.entries(g.gmv).map(([c, a]) => money(a, c)).join(" · ") || "—",
          num: true,
        },
      ],
      groups,
    ),
  );
}

export default {
  title: key("page.overview"),
  async load(ctx) {
    const [dashboard, report, stores] = await Promise.all([
      api(`/kpis/dashboard${query({ period: ctx.period })}`),
      api(`/reports/daily${query(periodRange(ctx.period))}`),
      api("/stores"),
    ]);
    return { dashboard, report, stores: stores.stores };
  },
  render({ dashboard, report, stores }) {
    const platformOf = Object.fromEntries(stores.map((s) => [s.store_id, s.platform]));
    const kpis = dashboard.kpis;
    const staleCount = kpis.filter((k) => freshnessOf(k).stale).length;
    return h(
      "div",
      { class: "stack" },
      h(
        "p",
        { class: "muted" },
        t("overview.period_note", { period: period(dashboard.period), from: date(report.from), to: date(report.to) }),
      ),
      staleCount ? h("div", { class: "banner warn", role: "status" }, t("overview.stale_banner", { count: staleCount })) : null,
      kpis.length
        ? h("div", { class: "kpi-grid" }, kpis.map((row) => kpiCard(row, dashboard.period)))
        : section(t("overview.kpis"), empty(t("overview.no_kpis"), t("overview.no_kpis_hint"))),
      h(
        "div",
        { class: "grid-2" },
        salesBlock(t("overview.by_platform"), grouped(report.totals, (r) => platformOf[r.store_id] || "unknown"), (k) => tx("platform", k)),
        salesBlock(t("overview.by_market"), grouped(report.totals, (r) => r.market), countryName),
      ),
    );
  },
};
