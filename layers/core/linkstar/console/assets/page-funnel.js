// Funnel by market (GET /funnel?period=&by=market): each market's stage counts as bars (a stage
// without data says so, it is not drawn as zero), the step conversions and their change, and
// the top drop-offs ranked by the orders they cost, highlighted in their market's chart.

import { api, query } from "./api.js";
import { COLORS, baseGrid, chartBox } from "./charts.js";
import { countryName, date, int, key, num, pct, period, t, tx } from "./i18n.js";
import { chip, empty, h, section, table } from "./ui.js";

const TOP = 3;

function dropOffCard(d, rank) {
  return h(
    "li",
    { class: "drop-off", dataset: { group: d.key, stage: d.to_stage } },
    h("span", { class: "rank" }, String(rank + 1)),
    h(
      "div",
      {},
      h("strong", {}, t("funnel.drop_title", { group: countryName(d.key), from: tx("stage", d.from_stage), to: tx("stage", d.to_stage) })),
      h(
        "p",
        { class: "small" },
        t("funnel.drop_numbers", { conversion: pct(d.conversion), expected: pct(d.expected_conversion), basis: tx("funnel.basis", d.basis) }),
      ),
      h(
        "p",
        { class: "small muted" },
        d.lost_orders_estimate === null
          ? t("funnel.no_estimate", { reason: d.reason || "" })
          : t("funnel.lost", { count: num(d.lost_orders_estimate, { maximumFractionDigits: 1 }), unit: tx("funnel.unit", d.unit) }),
      ),
    ),
  );
}

function groupChart(group, highlighted) {
  const rows = group.stages;
  const option = {
    grid: { ...baseGrid(), top: 8, right: 64 },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      formatter: (items) => {
        const row = rows[items[0].dataIndex];
        const lines = [`${tx("stage", row.stage)}: ${row.count === null ? t("funnel.no_data") : int(row.count)}`];
        if (row.conversion !== null) lines.push(t("funnel.conversion_from", { conversion: pct(row.conversion), from: tx("stage", row.from_stage) }));
        if (row.growing) lines.push(t("funnel.growing"));
        return lines.join("<br>");
      },
    },
    yAxis: { type: "category", inverse: true, data: rows.map((r) => tx("stage", r.stage)), axisTick: { show: false } },
    // Counts run from tens of thousands of impressions to a handful of orders: a log scale keeps
    // the late stages visible. A zero or a stage without data sits at the axis' start, labelled.
    xAxis: { type: "log", logBase: 10, min: 1, axisLabel: { formatter: (v) => num(v, { notation: "compact" }) } },
    series: [
      {
        type: "bar",
        barMaxWidth: 18,
        data: rows.map((r) => ({
          value: r.count ? r.count : 1,
          itemStyle: {
            color: highlighted.has(r.stage) ? COLORS.bad : r.count === null ? COLORS.muted : r.growing ? COLORS.warn : COLORS.primary,
          },
          label: {
            show: true,
            position: "right",
            formatter: () => (r.count === null ? t("funnel.no_data") : int(r.count)),
            color: highlighted.has(r.stage) ? COLORS.bad : undefined,
            fontWeight: highlighted.has(r.stage) ? "bold" : "normal",
          },
        })),
      },
    ],
  };
  return chartBox(option, { height: 40 + rows.length * 26, label: t("funnel.chart_label", { group: countryName(group.key) }) });
}

function stepsTable(group) {
  const change = Object.fromEntries(group.change.map((c) => [c.stage, c]));
  return table(
    [
      { label: t("funnel.stage"), value: (r) => [tx("stage", r.stage), r.growing ? h("span", { class: "muted small" }, ` (${t("funnel.growing_short")})`) : null] },
      { label: t("funnel.count"), value: (r) => (r.count === null ? t("funnel.no_data") : int(r.count)), num: true },
      { label: t("funnel.conversion"), value: (r) => (r.conversion === null ? "—" : pct(r.conversion)), num: true },
      { label: t("funnel.from_stage"), value: (r) => tx("stage", r.from_stage) },
      {
        label: t("funnel.change_points"),
        value: (r) => {
          const c = change[r.stage];
          return c && c.conversion_change_points !== null ? t("funnel.points", { value: num(c.conversion_change_points, { signDisplay: "exceptZero" }) }) : "—";
        },
        num: true,
      },
    ],
    group.stages,
  );
}

export default {
  title: key("page.funnel"),
  async load(ctx) {
    return api(`/funnel${query({ period: ctx.period, by: "market" })}`);
  },
  render(report) {
    const top = report.drop_offs.slice(0, TOP);
    const highlight = new Map();
    for (const d of top) {
      if (!highlight.has(d.key)) highlight.set(d.key, new Set());
      highlight.get(d.key).add(d.to_stage);
    }
    const anyData = report.groups.some((g) => g.stages.some((s) => s.count));
    const repeat = report.repeat && report.repeat.current;
    return h(
      "div",
      { class: "stack" },
      h("p", { class: "muted" }, t("funnel.period_note", { period: period(report.period), previous: period(report.previous_period) })),
      section(
        t("funnel.top_drop_offs"),
        top.length
          ? h("ol", { class: "drop-offs" }, top.map(dropOffCard))
          : empty(t("funnel.no_drop_offs"), t("funnel.no_drop_offs_hint", { min: int(report.min_from_count) })),
      ),
      repeat && !repeat.complete
        ? h("div", { class: "banner info" }, t("funnel.repeat_growing", { stage: tx("stage", report.repeat.stage), date: date(repeat.complete_on) }))
        : null,
      !report.groups.length || !anyData
        ? section(t("funnel.by_market"), empty(t("state.no_data"), t("funnel.no_data_hint")))
        : h(
            "div",
            { class: "grid-2" },
            report.groups.map((group) =>
              section(
                countryName(group.key),
                highlight.has(group.key) ? chip(t("funnel.has_drop_off"), "bad") : null,
                groupChart(group, highlight.get(group.key) || new Set()),
                h("details", {}, h("summary", {}, t("funnel.steps")), stepsTable(group)),
              ),
            ),
          ),
    );
  },
};
