// Outreach: the flows (GET /flows) with on/off (PATCH /flows/{id}) and their numbers
// (GET /flows/{id}/stats), enabling a preset (POST /flows {"preset": ...}), and the message log
// (GET /messages) with the reason a message is held or was not sent. Changing flows needs the
// manager role: a lesser key sees the same page without the controls.

import { api, query } from "./api.js";
import { dateTime, int, key, money, pct, t, tx } from "./i18n.js";
import { chip, empty, errorBox, h, section, table, toast } from "./ui.js";

const STATES = ["queued", "held", "sending", "sent", "delivered", "opened", "clicked", "bounced", "complained", "suppressed", "skipped", "failed"];

function presetForm(presets, ctx) {
  // GET /flow-presets: each preset, what it does (in the reader's language) and the flows made from it.
  const free = presets.filter((p) => !p.enabled_as.length);
  const select = h(
    "select",
    { name: "preset", id: "preset-select" },
    presets.map((p) => h("option", { value: p.key, disabled: p.enabled_as.length > 0 }, p.enabled_as.length ? t("outreach.preset_added", { name: tx("preset", p.key) }) : tx("preset", p.key))),
  );
  if (free.length) select.value = free[0].key;
  const about = h("p", { class: "small muted preset-about" });
  const describe = () => {
    const chosen = presets.find((p) => p.key === select.value);
    about.textContent = chosen ? `${chosen.description} (${chosen.channels.map((c) => tx("channel", c)).join(" · ")})` : "";
  };
  select.addEventListener("change", describe);
  describe();
  const button = h("button", { type: "submit", id: "enable-preset", disabled: !free.length }, t("outreach.enable_preset"));
  return h(
    "form",
    {
      class: "inline-form",
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        try {
          const flow = await api("/flows", { method: "POST", body: { preset: select.value } });
          toast(t("outreach.preset_enabled", { name: flow.name }), "ok");
          ctx.reload();
        } catch (error) {
          button.disabled = false;
          if (error.status !== 401) toast(`${t("outreach.enable_failed")} ${error.message || ""}`, "error");
        }
      },
    },
    h("label", {}, t("outreach.preset"), " ", select),
    button,
    about,
  );
}

function toggle(flow, ctx) {
  if (!ctx.can("manage_flows")) return chip(flow.enabled ? t("outreach.on") : t("outreach.off"), flow.enabled ? "ok" : "");
  const input = h("input", { type: "checkbox", role: "switch", checked: flow.enabled, "aria-label": t("outreach.toggle_label", { name: flow.name }) });
  input.addEventListener("change", async () => {
    input.disabled = true;
    try {
      await api(`/flows/${encodeURIComponent(flow.flow_id)}`, { method: "PATCH", body: { enabled: input.checked } });
      flow.enabled = input.checked;
      toast(input.checked ? t("outreach.turned_on", { name: flow.name }) : t("outreach.turned_off", { name: flow.name }), "ok");
    } catch (error) {
      input.checked = !input.checked;
      if (error.status !== 401) toast(`${t("outreach.toggle_failed")} ${error.message || ""}`, "error");
    } finally {
      input.disabled = false;
    }
    ctx.redraw();
  });
  return h("label", { class: "switch" }, input, h("span", {}, flow.enabled ? t("outreach.on") : t("outreach.off")));
}

function revenue(stats) {
  const entries = Object.entries((stats && stats.attributed_revenue) || {});
  return entries.length ? entries.map(([c, a]) => money(a, c)).join(" · ") : "—";
}

function flowsTable(flows, stats, ctx) {
  const s = (f, name) => (stats[f.flow_id] ? int(stats[f.flow_id][name]) : "—");
  const r = (f, name) => (stats[f.flow_id] ? pct(stats[f.flow_id].rates[name]) : "—");
  return table(
    [
      { label: t("outreach.flow"), value: (f) => [h("strong", {}, f.name), f.preset ? h("div", { class: "small muted" }, tx("preset", f.preset)) : null] },
      { label: t("outreach.enabled"), value: (f) => toggle(f, ctx) },
      { label: t("outreach.stat.entered"), value: (f) => s(f, "entered"), num: true },
      { label: t("outreach.stat.sent"), value: (f) => s(f, "sent"), num: true },
      { label: t("outreach.stat.delivered"), value: (f) => [s(f, "delivered"), h("div", { class: "small muted" }, r(f, "delivery"))], num: true },
      { label: t("outreach.stat.opened"), value: (f) => [s(f, "opened"), h("div", { class: "small muted" }, r(f, "open"))], num: true },
      { label: t("outreach.stat.clicked"), value: (f) => [s(f, "clicked"), h("div", { class: "small muted" }, r(f, "click"))], num: true },
      { label: t("outreach.stat.held"), value: (f) => s(f, "held"), num: true },
      { label: t("outreach.stat.conversions"), value: (f) => s(f, "conversions"), num: true },
      { label: t("outreach.revenue"), value: (f) => revenue(stats[f.flow_id]), num: true },
    ],
    flows,
    { rowClass: (f) => (f.enabled ? "" : "row-muted") },
  );
}

function messageLog(messages, ctx) {
  const st = ctx.state;
  const filter = h(
    "select",
    { name: "state", onchange: (e) => { st.state = e.target.value; ctx.reload(); } },
    h("option", { value: "" }, t("outreach.all_states")),
    STATES.map((s) => h("option", { value: s, selected: st.state === s }, tx("message_state", s))),
  );
  return section(
    t("outreach.log"),
    h("div", { class: "inline-form" }, h("label", {}, t("outreach.filter_state"), " ", filter)),
    messages.length
      ? table(
          [
            { label: t("outreach.when"), value: (m) => dateTime(m.sent_at || m.created_at) },
            { label: t("outreach.channel"), value: (m) => tx("channel", m.channel) },
            { label: t("outreach.to"), value: (m) => m.to || "—" },
            { label: t("outreach.state"), value: (m) => chip(tx("message_state", m.state), `msg-${m.state}`) },
            {
              label: t("outreach.reason"),
              value: (m) => [
                m.reason || "",
                m.hold_until ? h("div", { class: "small muted" }, t("outreach.held_until", { when: dateTime(m.hold_until) })) : null,
              ],
            },
            { label: t("outreach.message"), value: (m) => [m.subject ? h("strong", {}, m.subject) : null, h("div", { class: "small muted clip" }, m.preview)] },
          ],
          messages,
          { rowClass: (m) => (m.state === "held" ? "row-warn" : ["failed", "bounced", "complained"].includes(m.state) ? "row-bad" : "") },
        )
      : empty(t("outreach.no_messages"), t("outreach.no_messages_hint")),
  );
}

export default {
  title: key("page.outreach"),
  async load(ctx) {
    const [flows, messages, presets] = await Promise.all([
      api("/flows"),
      api(`/messages${query({ limit: 50, state: ctx.state.state })}`),
      api("/flow-presets"),
    ]);
    const stats = {};
    const answers = await Promise.allSettled(
      flows.flows.map((f) => api(`/flows/${encodeURIComponent(f.flow_id)}/stats`)),
    );
    answers.forEach((a, i) => {
      if (a.status === "fulfilled") stats[flows.flows[i].flow_id] = a.value;
    });
    return { flows: flows.flows, messages: messages.messages, presets: presets.presets, stats, statsFailed: answers.some((a) => a.status === "rejected") };
  },
  render({ flows, messages, presets, stats, statsFailed }, ctx) {
    return h(
      "div",
      { class: "stack" },
      section(
        t("outreach.flows"),
        ctx.can("manage_flows") ? presetForm(presets, ctx) : h("p", { class: "muted small" }, t("outreach.read_only")),
        statsFailed ? errorBox({ status: 500 }) : null,
        flows.length ? flowsTable(flows, stats, ctx) : empty(t("outreach.no_flows"), t("outreach.no_flows_hint")),
      ),
      messageLog(messages, ctx),
    );
  },
};
