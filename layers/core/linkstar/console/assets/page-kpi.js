// KPI detail: one KPI's row of GET /kpis/dashboard (its trend over the last periods), drawn
// with its target line and, for the period in progress, the projection to period end and the
// pace the target asks for by today; then what it reads and how fresh that is.

import { api, query } from "./api.js";
import { COLORS, baseGrid, chartBox } from "./charts.js";
import { byUnit, date, dateTime, key, num, period, t, tx } from "./i18n.js";
import { badge, empty, h, kv, section, table } from "./ui.js";
import { attainmentBar, freshnessNote } from "./page-overview.js";

function trendChart(row) {
  const labels = row.trend.map((p) => period(p.period));
  const values = row.trend.map((p) => (p.actual === null ? null : Number(p.actual)));
  const last = row.trend.length - 1;
  const projecting = row.in_progress && row.projected !== null && values[last] !== null;
  // The rest of the way the current rate would go by period end, stacked on today's actual.
  const remainder = row.trend.map((p, i) =>
    projecting && i === last ? Math.max(Number(row.projected) - values[last], 0) : null,
  );
  const fmt = (v) => byUnit(v, row.unit);
  const highest = Math.max(
    ...values.filter((v) => v !== null),
    row.target === null ? 0 : Number(row.target),
    projecting ? Number(row.projected) : 0,
    row.pace === null ? 0 : Number(row.pace),
  );
  const series = [
    {
      name: t("kpi.actual"),
      type: "bar",
      stack: "value",
      barMaxWidth: 56,
      data: values,
      itemStyle: { color: COLORS.primary },
      label: { show: true, position: "insideTop", color: "#fff", formatter: (p) => (p.value === null ? "" : fmt(p.value)) },
      markLine:
        row.target === null
          ? undefined
          : {
              symbol: "none",
              lineStyle: { color: COLORS.bad, type: "dashed", width: 2 },
              label: { position: "insideEndTop", formatter: () => t("kpi.target_line", { target: fmt(row.target) }) },
              data: [{ yAxis: Number(row.target) }],
            },
    },
  ];
  if (projecting) {
    series.push({
      name: t("kpi.projected"),
      type: "bar",
      stack: "value",
      data: remainder,
      itemStyle: { color: "rgba(217, 139, 0, 0.25)", borderColor: COLORS.warn, borderType: "dashed", borderWidth: 1 },
      label: { show: true, position: "top", formatter: (p) => (p.value === null ? "" : fmt(row.projected)) },
      tooltip: { valueFormatter: () => fmt(row.projected) },
    });
  }
  if (row.in_progress && row.pace !== null) {
    series.push({
      name: t("kpi.pace"),
      type: "scatter",
      symbol: "diamond",
      symbolSize: 14,
      itemStyle: { color: COLORS.secondary },
      data: row.trend.map((p, i) => (i === last ? Number(row.pace) : null)),
    });
  }
  return chartBox(
    {
      grid: { ...baseGrid(), top: 40 },
      legend: { top: 0 },
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null || v === undefined ? "—" : fmt(v)) },
      xAxis: { type: "category", data: labels },
      yAxis: { type: "value", max: highest > 0 ? highest * 1.15 : null, axisLabel: { formatter: (v) => fmt(v) } },
      series,
    },
    { height: 320, label: t("kpi.trend") },
  );
}

export default {
  title: key("page.kpi"),
  nav: "overview",
  async load(ctx) {
    const dashboard = await api(`/kpis/dashboard${query({ period: ctx.period })}`);
    return { row: dashboard.kpis.find((k) => k.kpi_id === ctx.args[0]) || null };
  },
  render({ row }) {
    const back = h("a", { href: "#/overview", class: "back" }, t("action.back_to_overview"));
    if (!row) return h("div", { class: "stack" }, back, empty(t("kpi.not_found"), t("kpi.not_found_hint")));
    const hasTrend = row.trend.some((p) => p.actual !== null);
    const freshness = Object.entries(row.freshness.metrics || {});
    return h(
      "div",
      { class: "stack" },
      back,
      h("div", { class: "kpi-head" }, h("h2", {}, row.name), badge(row.status)),
      h(
        "div",
        { class: "grid-2" },
        section(
          t("kpi.this_period", { period: period(row.period) }),
          kv([
            [t("kpi.actual"), row.actual === null ? t("kpi.no_value") : byUnit(row.actual, row.unit)],
            [t("kpi.target"), row.target === null ? t("kpi.no_target") : byUnit(row.target, row.unit)],
            [t("kpi.pace"), byUnit(row.pace, row.unit)],
            [t("kpi.projected"), byUnit(row.projected, row.unit)],
            [t("kpi.progress"), row.in_progress ? t("kpi.day_of", { elapsed: row.elapsed_days, days: row.days }) : t("kpi.closed")],
            [t("kpi.direction"), tx("direction", row.direction)],
            [t("kpi.unit"), tx("unit", row.unit)],
            [t("kpi.weight"), num(row.weight)],
            row.owner ? [t("kpi.owner_label"), row.owner] : null,
            [t("kpi.formula"), h("code", {}, row.formula)],
          ]),
          attainmentBar(row),
          row.reason ? h("p", { class: "small muted" }, t("kpi.reason", { reason: row.reason })) : null,
        ),
        section(
          t("kpi.freshness"),
          freshnessNote(row),
          freshness.length
            ? table(
                [
                  { label: t("kpi.metric"), value: ([m]) => m },
                  { label: t("kpi.source"), value: ([, f]) => tx("source", f.source) },
                  { label: t("kpi.last_fact"), value: ([, f]) => date(f.last_fact_date) },
                  { label: t("kpi.last_import"), value: ([, f]) => dateTime(f.last_import_at) },
                  { label: t("kpi.state"), value: ([, f]) => (f.stale ? t("kpi.stale") : t("kpi.fresh")) },
                ],
                freshness,
                { rowClass: ([, f]) => (f.stale ? "row-warn" : "") },
              )
            : null,
        ),
      ),
      section(
        t("kpi.trend"),
        hasTrend ? trendChart(row) : empty(t("state.no_data"), t("kpi.no_trend_hint")),
      ),
    );
  },
};
