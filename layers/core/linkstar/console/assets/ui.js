// Small DOM helpers shared by the pages: element building, the loading / empty / error states,
// status badges, tables and bars. Text goes in as text (never as HTML): data from the API can't
// inject markup.

import { t, tx } from "./i18n.js";

/** h("div", {class: "x", onclick}, child, "text", [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      el.className = value;
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "style" && typeof value === "object") {
      Object.assign(el.style, value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function loading() {
  return h("div", { class: "state loading", role: "status" }, h("span", { class: "spinner" }), t("state.loading"));
}

export function empty(message, hint) {
  return h("div", { class: "state empty" }, h("strong", {}, message), hint ? h("p", {}, hint) : null);
}

/** What went wrong, in words a seller understands (the API's own message as a detail). */
export function explain(error) {
  const status = error && error.status;
  if (status === 0) return t("error.network");
  if (status === 401) return t("error.unauthorized");
  if (status === 403) return t("error.forbidden");
  if (status === 404) return t("error.not_found");
  if (status === 409) return t("error.conflict");
  if (status === 413) return t("error.too_large");
  if (status >= 500) return t("error.server");
  if (status >= 400) return t("error.bad_request");
  return t("error.unexpected");
}

export function errorBox(error, retry) {
  const detail = error && error.status && error.status < 500 ? error.message : null;
  return h(
    "div",
    { class: "state error", role: "alert" },
    h("strong", {}, explain(error)),
    detail ? h("p", { class: "detail" }, t("error.detail", { detail })) : null,
    retry ? h("button", { type: "button", class: "ghost", onclick: retry }, t("action.retry")) : null,
  );
}

export function badge(status) {
  return h("span", { class: `badge status-${status}` }, tx("status", status));
}

export function chip(text, kind = "") {
  return h("span", { class: `chip ${kind}` }, text);
}

export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

/** A table: columns [{label, value: row => text|Node, num: bool}], rows. */
export function table(columns, rows, { onRowClick, rowClass } = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : "" }, c.label)))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            {
              class: [onRowClick ? "clickable" : "", rowClass ? rowClass(row) : ""].join(" ").trim(),
              onclick: onRowClick ? () => onRowClick(row) : null,
              tabindex: onRowClick ? "0" : null,
              onkeydown: onRowClick ? (e) => e.key === "Enter" && onRowClick(row) : null,
            },
            columns.map((c) => h("td", { class: c.num ? "num" : "" }, c.value(row))),
          ),
        ),
      ),
    ),
  );
}

/** A horizontal bar: `used` of `limit`, with marks at the alert thresholds (percent). */
export function bar(used, limit, { label, detail, marks = [] } = {}) {
  const ratio = limit > 0 ? used / limit : used > 0 ? 1 : 0;
  const width = Math.max(0, Math.min(1, ratio)) * 100;
  const level = ratio >= 1 ? "over" : marks.some((m) => ratio * 100 >= m) ? "warn" : "ok";
  return h(
    "div",
    { class: "bar-row" },
    h("div", { class: "bar-label" }, h("span", {}, label), h("span", { class: "muted" }, detail)),
    h(
      "div",
      { class: `bar ${level}`, role: "meter", "aria-valuemin": "0", "aria-valuemax": String(limit), "aria-valuenow": String(used), "aria-label": label },
      h("div", { class: "bar-fill", style: { width: `${width}%` } }),
      marks.map((m) => h("div", { class: "bar-mark", style: { left: `${Math.min(m, 100)}%` }, title: `${m}%` })),
    ),
  );
}

export function kv(pairs) {
  return h(
    "dl",
    { class: "kv" },
    pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
}

export function copyButton(text) {
  const button = h("button", { type: "button", class: "ghost small" }, t("action.copy"));
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = t("action.copied");
    } catch {
      button.textContent = t("action.copy_failed");
    }
    setTimeout(() => (button.textContent = t("action.copy")), 2000);
  });
  return button;
}

export function toast(message, kind = "info") {
  const box = h("div", { class: `toast ${kind}`, role: "status" }, message);
  document.body.append(box);
  setTimeout(() => box.remove(), 4000);
}
