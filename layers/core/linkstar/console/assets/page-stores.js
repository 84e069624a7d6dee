// Stores: the connected stores (GET /stores, and GET /stores/{id} for the last event received
// and the ingest counters), connecting one (POST /stores: the webhook URL to paste into the
// platform), and importing order history files (POST /stores/{id}/import, then the job from
// GET /stores/{id}/imports/{job} until it is done: progress and per-row errors). Connecting and
// importing need the admin role.

import { api } from "./api.js";
import { countryName, dateTime, int, key, t, tx } from "./i18n.js";
import { chip, copyButton, empty, errorBox, h, kv, section, table, toast } from "./ui.js";

const PLATFORMS = ["shopify", "tiktok_shop", "shopee", "lazada", "amazon"];
const NEEDS_APP_KEY = new Set(["tiktok_shop", "lazada"]);
const POLL_MS = 1000;
const MAX_POLLS = 300;

function contentTypeOf(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".csv")) return "text/csv";
  if (name.endsWith(".tsv") || name.endsWith(".txt")) return "text/tab-separated-values";
  return "application/octet-stream";
}

function jobView(job) {
  const finished = job.status === "done" || job.status === "failed";
  return h(
    "div",
    { class: "stack import-job", dataset: { status: job.status } },
    h(
      "p",
      {},
      chip(tx("import_status", job.status), job.status === "failed" ? "bad" : finished ? "ok" : "warn"),
      " ",
      t("stores.import_progress", { read: int(job.rows_read), accepted: int(job.orders_accepted), applied: int(job.orders_applied), unchanged: int(job.orders_unchanged), rejected: int(job.rows_rejected) }),
    ),
    finished ? null : h("div", { class: "bar indeterminate" }, h("div", { class: "bar-fill" })),
    job.failure ? h("p", { class: "warn-text" }, t("stores.import_failure", { reason: job.failure })) : null,
    job.errors && job.errors.length
      ? table(
          [
            { label: t("stores.row"), value: (e) => int(e.row), num: true },
            { label: t("stores.order_ref"), value: (e) => e.order_ref || "—" },
            { label: t("stores.problem"), value: (e) => e.reason },
            { label: t("stores.code"), value: (e) => h("code", {}, e.code) },
          ],
          job.errors,
          { rowClass: () => "row-warn" },
        )
      : null,
  );
}

function importForm(store, ctx) {
  const st = ctx.state;
  const file = h("input", { type: "file", accept: ".csv,.tsv,.txt", name: "history", "aria-label": t("stores.import_file") });
  const button = h("button", { type: "submit" }, t("stores.import"));
  const poll = async (jobId) => {
    for (let i = 0; i < MAX_POLLS; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      let job;
      try {
        job = await api(`/stores/${encodeURIComponent(store.store_id)}/imports/${encodeURIComponent(jobId)}`);
      } catch (error) {
        st.jobs[store.store_id] = { error };
        ctx.redraw();
        return;
      }
      st.jobs[store.store_id] = job;
      if (job.status === "done" || job.status === "failed") {
        ctx.reload(); // the history list gains the finished job
        return;
      }
      ctx.redraw();
    }
  };
  return h(
    "form",
    {
      class: "inline-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const chosen = file.files && file.files[0];
        if (!chosen) {
          toast(t("stores.choose_file"), "error");
          return;
        }
        button.disabled = true;
        try {
          const job = await api(`/stores/${encodeURIComponent(store.store_id)}/import`, {
            method: "POST",
            body: await chosen.arrayBuffer(),
            contentType: contentTypeOf(chosen),
          });
          st.jobs[store.store_id] = job;
          ctx.redraw();
          poll(job.job_id);
        } catch (error) {
          st.jobs[store.store_id] = { error };
          ctx.redraw();
        }
      },
    },
    file,
    button,
  );
}

function storeCard(store, detail, imports, ctx) {
  const ingest = detail && detail.ingest;
  const job = ctx.state.jobs[store.store_id];
  return section(
    `${tx("platform", store.platform)} · ${store.name || store.external_id}`,
    kv([
      [t("stores.external_id"), store.external_id],
      [t("stores.market"), countryName(store.market)],
      store.currency ? [t("stores.currency"), store.currency] : null,
      [t("stores.connected"), dateTime(store.created_at)],
      store.webhook_url
        ? [t("stores.webhook_url"), h("span", { class: "copyable" }, h("code", { class: "webhook-url" }, store.webhook_url), copyButton(store.webhook_url))]
        : null,
      store.amazon_notifications_queue_arn
        ? [t("stores.amazon_queue"), h("span", { class: "copyable" }, h("code", {}, store.amazon_notifications_queue_arn), copyButton(store.amazon_notifications_queue_arn))]
        : null,
      [t("stores.secrets_active"), int(store.webhook_secrets_active)],
      [
        t("stores.last_event"),
        ingest && ingest.last_event_at ? dateTime(ingest.last_event_at) : h("span", { class: "warn-text" }, t("stores.no_event_yet")),
      ],
      ingest
        ? [t("stores.ingest"), t("stores.ingest_line", { processed: int(ingest.deliveries_processed), duplicates: int(ingest.duplicates), dead: int(ingest.dead_lettered) })]
        : null,
    ]),
    store.webhook_url ? h("p", { class: "small muted" }, tx("stores.paste_hint", store.platform)) : null,
    h("h3", {}, t("stores.history")),
    ctx.can("import_history") ? importForm(store, ctx) : h("p", { class: "muted small" }, t("stores.import_needs_admin")),
    job ? (job.error ? errorBox(job.error) : jobView(job)) : null,
    imports && imports.length
      ? table(
          [
            { label: t("stores.started"), value: (j) => dateTime(j.created_at) },
            { label: t("stores.format"), value: (j) => tx("import_format", j.format) },
            { label: t("stores.status"), value: (j) => tx("import_status", j.status) },
            { label: t("stores.rows_read"), value: (j) => int(j.rows_read), num: true },
            { label: t("stores.accepted"), value: (j) => int(j.orders_accepted), num: true },
            { label: t("stores.rejected"), value: (j) => int(j.rows_rejected), num: true },
          ],
          imports,
          { onRowClick: (j) => { ctx.state.jobs[store.store_id] = j; ctx.redraw(); } },
        )
      : h("p", { class: "muted small" }, t("stores.no_imports")),
  );
}

function connectForm(ctx) {
  const st = ctx.state;
  const platform = h("select", { name: "platform", required: true }, PLATFORMS.map((p) => h("option", { value: p }, tx("platform", p))));
  const appKeyRow = h("label", { hidden: true }, t("stores.app_key"), h("input", { name: "app_key", type: "text" }));
  const secretRow = h("label", {}, t("stores.webhook_secret"), h("input", { name: "webhook_secret", type: "password", minlength: "8", autocomplete: "off" }));
  const sync = () => {
    appKeyRow.hidden = !NEEDS_APP_KEY.has(platform.value);
    secretRow.hidden = platform.value === "amazon";
  };
  platform.addEventListener("change", sync);
  const form = h(
    "form",
    {
      class: "form-grid",
      id: "connect-store",
      onsubmit: async (event) => {
        event.preventDefault();
        const data = Object.fromEntries(new FormData(form).entries());
        const body = { platform: data.platform, external_id: data.external_id, market: data.market };
        for (const name of ["webhook_secret", "app_key", "name", "currency"]) {
          if (data[name] && !(name === "webhook_secret" && data.platform === "amazon")) body[name] = data[name];
        }
        try {
          st.connected = await api("/stores", { method: "POST", body });
          ctx.reload();
        } catch (error) {
          if (error.status === 401) return;
          st.connectError = error;
          ctx.redraw();
        }
      },
    },
    h("label", {}, t("stores.platform"), platform),
    h("label", {}, t("stores.external_id"), h("input", { name: "external_id", type: "text", required: true, placeholder: t("stores.external_id_placeholder") })),
    h("label", {}, t("stores.market"), h("input", { name: "market", type: "text", required: true, minlength: "2", maxlength: "2", placeholder: "US" })),
    secretRow,
    appKeyRow,
    h("label", {}, t("stores.name"), h("input", { name: "name", type: "text" })),
    h("label", {}, t("stores.currency"), h("input", { name: "currency", type: "text", maxlength: "3", placeholder: "USD" })),
    h("div", { class: "form-actions" }, h("button", { type: "submit" }, t("stores.connect"))),
  );
  sync();
  const error = st.connectError;
  st.connectError = null;
  return section(
    t("stores.connect_title"),
    st.connected
      ? h(
          "div",
          { class: "banner ok" },
          t("stores.connected_ok", { platform: tx("platform", st.connected.platform) }),
          st.connected.webhook_url ? h("div", { class: "copyable" }, h("code", {}, st.connected.webhook_url), copyButton(st.connected.webhook_url)) : null,
        )
      : null,
    error ? errorBox(error) : null,
    form,
  );
}

export default {
  title: key("page.stores"),
  async load(ctx) {
    ctx.state.jobs = ctx.state.jobs || {};
    const { stores } = await api("/stores");
    const details = await Promise.all(
      stores.map((s) =>
        Promise.all([
          api(`/stores/${encodeURIComponent(s.store_id)}`).catch(() => null),
          api(`/stores/${encodeURIComponent(s.store_id)}/imports`).then((a) => a.imports).catch(() => []),
        ]),
      ),
    );
    return { stores, details };
  },
  async reloadState(ctx) {
    const jobs = ctx.state.jobs || {};
    await Promise.all(
      Object.entries(jobs)
        .filter(([, job]) => job && job.job_id)
        .map(async ([storeId, job]) => {
          jobs[storeId] = await api(`/stores/${encodeURIComponent(storeId)}/imports/${encodeURIComponent(job.job_id)}`).catch(() => job);
        }),
    );
  },
  render({ stores, details }, ctx) {
    return h(
      "div",
      { class: "stack" },
      stores.length
        ? stores.map((s, i) => storeCard(s, details[i][0], details[i][1], ctx))
        : section(t("page.stores"), empty(t("stores.none"), t("stores.none_hint"))),
      ctx.can("manage_stores") ? connectForm(ctx) : h("p", { class: "muted" }, t("stores.connect_needs_admin")),
    );
  },
};
