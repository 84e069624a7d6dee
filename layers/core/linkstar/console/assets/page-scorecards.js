// Scorecards by owner (GET /scorecards?period=) and an agency's statement for the period
// (GET /settlements?agency=&period=; agencies offered from GET /owners).

import { api, query } from "./api.js";
import { byUnit, key, money, num, pct, period, t, tx } from "./i18n.js";
import { badge, chip, empty, errorBox, h, kv, loading, section, table } from "./ui.js";

function scorecard(card) {
  const counts = Object.entries(card.status_counts || {});
  return section(
    card.owner === "(unowned)" ? t("scorecards.unowned") : card.owner,
    h(
      "div",
      { class: "score-head" },
      h("span", { class: "score" }, card.weighted_score === null ? "—" : pct(card.weighted_score)),
      h("span", { class: "muted" }, t("scorecards.weighted_score")),
      h("span", { class: "chips" }, counts.map(([status, n]) => chip(`${tx("status", status)} ${n}`, `status-${status}`))),
    ),
    table(
      [
        { label: t("scorecards.kpi"), value: (r) => h("a", { href: `#/kpi/${encodeURIComponent(r.kpi_id)}` }, r.name) },
        { label: t("kpi.actual"), value: (r) => byUnit(r.actual, r.unit), num: true },
        { label: t("kpi.target"), value: (r) => byUnit(r.target, r.unit), num: true },
        { label: t("scorecards.attainment"), value: (r) => pct(r.attainment), num: true },
        { label: t("kpi.weight"), value: (r) => num(r.weight), num: true },
        { label: t("scorecards.status"), value: (r) => badge(r.status) },
      ],
      card.rows,
    ),
    card.kpis_without_data.length
      ? h("p", { class: "small muted" }, t("scorecards.without_data", { count: card.kpis_without_data.length }))
      : null,
  );
}

function statementView(s) {
  const c = s.currency;
  return h(
    "div",
    { class: "stack statement" },
    h(
      "p",
      {},
      chip(s.final ? t("statement.final") : t("statement.provisional"), s.final ? "ok" : "warn"),
      " ",
      t("statement.heading", { agency: s.agency, period: period(s.period) }),
    ),
    table(
      [
        { label: t("statement.input"), value: (i) => `${tx("statement.kind", i.kind)}: ${i.name}` },
        { label: t("statement.value"), value: (i) => (i.value === null ? t("statement.no_value") : num(i.value, { maximumFractionDigits: 4 })), num: true },
        { label: t("statement.why_missing"), value: (i) => i.reason || "" },
      ],
      s.inputs,
    ),
    table(
      [
        { label: t("statement.rule"), value: (r) => r.name },
        { label: t("statement.type"), value: (r) => tx("statement.rule_type", r.type) },
        { label: t("statement.met"), value: (r) => (r.met ? t("statement.yes") : t("statement.no")) },
        { label: t("statement.amount"), value: (r) => money(r.amount, c), num: true },
        { label: t("statement.explanation"), value: (r) => [r.explanation, ...r.conditions.map((x) => h("div", { class: "small muted" }, x.explanation))] },
      ],
      s.rules,
    ),
    kv([
      [t("statement.base_fee"), money(s.base_fee, c)],
      [t("statement.commissions"), money(s.commissions, c)],
      [t("statement.subtotal"), money(s.subtotal, c)],
      [t("statement.penalties"), money(s.penalties, c)],
      s.cap === null ? null : [t("statement.cap"), money(s.cap, c)],
      [t("statement.total"), h("strong", {}, money(s.total, c))],
    ]),
    s.notes.length ? h("ul", { class: "small muted" }, s.notes.map((n) => h("li", {}, n))) : null,
  );
}

function statementSection(owners, contracts, ctx) {
  // The agencies with a contract (GET /settlements/contracts), named as their owner entry names them.
  const names = Object.fromEntries(owners.map((o) => [o.owner_id, o.name]));
  const st = ctx.state;
  if (!contracts.length) {
    return section(t("statement.title"), h("p", { class: "muted small" }, t("statement.help")), empty(t("statement.no_contracts"), t("statement.no_contract_hint")));
  }
  const select = h(
    "select",
    { name: "agency", id: "agency-select" },
    contracts.map((c) => h("option", { value: c.agency, selected: c.agency === st.agency }, names[c.agency] ? `${names[c.agency]} (${c.agency})` : c.agency)),
  );
  const form = h(
    "form",
    {
      class: "inline-form",
      onsubmit: async (event) => {
        event.preventDefault();
        st.agency = select.value;
        st.statement = "loading";
        ctx.redraw();
        try {
          st.statement = await api(`/settlements${query({ agency: st.agency, period: ctx.period })}`);
        } catch (error) {
          st.statement = { error };
        }
        ctx.redraw();
      },
    },
    h("label", {}, t("statement.agency"), " ", select),
    h("button", { type: "submit" }, t("statement.show")),
  );
  let result = null;
  if (st.statement === "loading") result = loading();
  else if (st.statement && st.statement.error) {
    result = st.statement.error.status === 404
      ? empty(t("statement.no_contract"), t("statement.no_contract_hint"))
      : errorBox(st.statement.error);
  } else if (st.statement) result = statementView(st.statement);
  return section(t("statement.title"), h("p", { class: "muted small" }, t("statement.help")), form, result);
}

export default {
  title: key("page.scorecards"),
  async load(ctx) {
    const [cards, owners, contracts] = await Promise.all([
      api(`/scorecards${query({ period: ctx.period })}`),
      api("/owners"),
      api("/settlements/contracts"),
    ]);
    return { cards, owners: owners.owners, contracts: contracts.contracts };
  },
  async reloadState(ctx) {
    const st = ctx.state;
    if (st.agency && st.statement && st.statement.rules) {
      st.statement = await api(`/settlements${query({ agency: st.agency, period: ctx.period })}`).catch(() => st.statement);
    }
  },
  render({ cards, owners, contracts }, ctx) {
    return h(
      "div",
      { class: "stack" },
      h("p", { class: "muted" }, t("scorecards.period_note", { period: period(cards.period) })),
      cards.scorecards.length
        ? h("div", { class: "grid-2" }, cards.scorecards.map(scorecard))
        : section(t("page.scorecards"), empty(t("scorecards.none"), t("overview.no_kpis_hint"))),
      statementSection(owners, contracts, ctx),
    );
  },
};
