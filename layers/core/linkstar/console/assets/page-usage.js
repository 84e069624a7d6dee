// Usage & bill: the month's usage by channel x country (GET /usage?month=), each channel's
// included units as a quota bar against the plan (GET /plan?month=), spend so far and the
// forecast against the spend limit, the alerts the plan's thresholds raise, and the invoice as it
// would be if the month closed now (GET /usage/invoice-preview?month=).

import { api, billingMonth, query } from "./api.js";
import { COLORS, baseGrid, chartBox } from "./charts.js";
import { countryName, dateTime, int, key, list, money, pct, period, t, tx } from "./i18n.js";
import { bar, empty, h, kv, section, table } from "./ui.js";

function usedByChannel(lines) {
  const used = {};
  for (const line of lines) {
    if (line.kind !== "send") continue;
    used[line.channel] = (used[line.channel] || 0) + line.units;
  }
  return used;
}

/** The alerts that fired this month (GET /usage/alerts: what the API emailed, in the reader's
 * language), newest first. */
function alertsBlock(alerts) {
  if (!alerts.length) return h("div", { class: "banner ok" }, t("usage.no_alerts"));
  const blocking = alerts.some((a) => a.blocks_sending);
  return h(
    "div",
    { class: `banner ${blocking ? "bad" : "warn"}`, role: "status", id: "usage-alerts" },
    h("strong", {}, t("usage.alerts")),
    h("ul", {}, alerts.map((a) => h("li", {}, a.message, " ", h("span", { class: "small muted" }, t("usage.alert_fired", { when: dateTime(a.fired_at) }))))),
  );
}

function quotaBars(usage, plan) {
  const used = usedByChannel(usage.lines);
  const marks = plan.alert_thresholds || [];
  const bars = [];
  const payg = [];
  for (const [channel, cp] of Object.entries(plan.channels)) {
    const units = used[channel] || 0;
    if (cp.included_units > 0) {
      bars.push(
        bar(units, cp.included_units, {
          label: tx("channel", channel),
          detail: t("usage.quota_detail", { used: int(units), included: int(cp.included_units), percent: pct(units / cp.included_units) }),
          marks,
        }),
      );
    } else {
      payg.push(t("usage.payg_line", { channel: tx("channel", channel), units: int(units) }));
    }
  }
  return h(
    "div",
    { class: "quota-bars", id: "quota-bars" },
    bars,
    payg.length ? h("p", { class: "small muted" }, t("usage.payg"), " ", payg.join(" · ")) : null,
  );
}

function spendBlock(usage, plan) {
  const c = usage.currency;
  const limit = plan.spend_limit ? Number(plan.spend_limit) : null;
  return h(
    "div",
    { class: "stack" },
    kv([
      [t("usage.spend_so_far"), h("strong", {}, money(usage.total, c))],
      [t("usage.fixed_fees"), money(usage.fixed_fees, c)],
      [t("usage.forecast"), money(usage.forecast_total, c)],
      [t("usage.spend_limit"), limit === null ? t("usage.no_limit") : money(limit, c)],
      limit === null ? null : [t("usage.hard_cap"), plan.hard_cap ? t("usage.hard_cap_on") : t("usage.hard_cap_off")],
    ]),
    limit === null
      ? null
      : [
          bar(Number(usage.total), limit, { label: t("usage.spend_bar"), detail: `${money(usage.total, c)} / ${money(limit, c)}`, marks: plan.alert_thresholds || [] }),
          bar(Number(usage.forecast_total), limit, { label: t("usage.forecast_bar"), detail: `${money(usage.forecast_total, c)} / ${money(limit, c)}`, marks: plan.alert_thresholds || [] }),
        ],
  );
}

function byCountryChart(lines) {
  const sends = lines.filter((l) => l.kind === "send");
  const countries = [...new Set(sends.map((l) => l.country))].sort();
  const channels = [...new Set(sends.map((l) => l.channel))].sort();
  const palette = [COLORS.primary, COLORS.secondary, COLORS.warn, COLORS.subtotal];
  return chartBox(
    {
      grid: { ...baseGrid(), top: 36 },
      legend: { top: 0 },
      tooltip: { trigger: "axis", valueFormatter: (v) => int(v) },
      xAxis: { type: "category", data: countries.map(countryName) },
      yAxis: { type: "value", minInterval: 1 },
      series: channels.map((ch, i) => ({
        name: tx("channel", ch),
        type: "bar",
        stack: "units",
        barMaxWidth: 56,
        itemStyle: { color: palette[i % palette.length] },
        data: countries.map((co) => sends.filter((l) => l.channel === ch && l.country === co).reduce((n, l) => n + l.units, 0)),
      })),
    },
    { height: 240, label: t("usage.by_country") },
  );
}

function invoiceBlock(preview) {
  const c = preview.currency;
  return h(
    "div",
    { class: "stack" },
    preview.lines.length
      ? table(
          [
            { label: t("usage.line"), value: (l) => l.description },
            { label: t("usage.units"), value: (l) => int(l.units), num: true },
            { label: t("usage.amount"), value: (l) => (l.unpriced_reason ? t("usage.unpriced", { reason: l.unpriced_note || l.unpriced_reason }) : money(l.amount, c)), num: true },
          ],
          preview.lines,
        )
      : empty(t("usage.no_lines")),
    kv([
      [t("usage.plan"), preview.plan_id],
      [t("usage.subtotal"), money(preview.subtotal, c)],
      [t("usage.credits"), money(preview.credits_total, c)],
      [t("usage.total_due"), h("strong", {}, money(preview.total, c))],
    ]),
  );
}

export default {
  title: key("page.usage"),
  async load(ctx) {
    const month = billingMonth(ctx.period, ctx.apiMonth);
    const [usage, plan, preview, alerts] = await Promise.all([
      api(`/usage${query({ month })}`),
      api(`/plan${query({ month })}`),
      api(`/usage/invoice-preview${query({ month })}`),
      api(`/usage/alerts${query({ period: month })}`),
    ]);
    return { usage, plan, preview, alerts: alerts.alerts };
  },
  render({ usage, plan, preview, alerts }, ctx) {
    // Each unpriced line's reason as the API says it (unpriced_note), once per reason.
    const unpriced = [...new Set(usage.lines.filter((l) => l.unpriced_reason).map((l) => l.unpriced_note || l.unpriced_reason))];
    return h(
      "div",
      { class: "stack" },
      h(
        "p",
        { class: "muted" },
        t("usage.period_note", { month: period(usage.month), plan: plan.plan.plan_id }),
        plan.is_default ? ` ${t("usage.default_plan")}` : "",
        ctx.period !== usage.month ? ` ${t("usage.billed_monthly", { month: period(usage.month) })}` : "",
      ),
      alertsBlock(alerts),
      unpriced.length ? h("div", { class: "banner bad" }, t("usage.unpriced_banner", { lines: list(unpriced) })) : null,
      h(
        "div",
        { class: "grid-2" },
        section(t("usage.quotas"), quotaBars(usage, plan.plan)),
        section(t("usage.spend"), spendBlock(usage, plan.plan)),
      ),
      section(
        t("usage.by_country"),
        usage.lines.length
          ? [
              byCountryChart(usage.lines),
              table(
                [
                  { label: t("usage.channel"), value: (l) => tx("channel", l.channel) },
                  { label: t("usage.country"), value: (l) => countryName(l.country) },
                  { label: t("usage.kind"), value: (l) => tx("usage.kind", l.kind) },
                  { label: t("usage.units"), value: (l) => int(l.units), num: true },
                  { label: t("usage.included"), value: (l) => int(l.included_units), num: true },
                  { label: t("usage.overage"), value: (l) => int(l.overage_units), num: true },
                  { label: t("usage.amount"), value: (l) => money(l.amount, usage.currency), num: true },
                ],
                usage.lines,
              ),
            ]
          : empty(t("usage.no_usage"), t("usage.no_usage_hint")),
      ),
      section(t("usage.invoice_preview"), invoiceBlock(preview)),
    );
  },
};
