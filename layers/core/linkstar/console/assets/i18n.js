// Translations and locale-aware formatting. Every visible string is a key in i18n/<locale>.json
// (looked up by t() in code, named by data-i18n attributes in markup); numbers, money and dates go through Intl for
// the current locale. Switching locale re-applies the markup's keys and tells the app to redraw.

export const LOCALES = ["en", "zh-CN"];
const STORAGE_KEY = "linkstar.console.locale";
const dictionaries = {};
let current = "en";
let reportingCurrency = null; // the tenant's, from GET /me: the currency of money KPIs
const listeners = new Set();

export function locale() {
  return current;
}

export function preferredLocale() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (LOCALES.includes(saved)) return saved;
  const browser = (navigator.languages || [navigator.language || "en"]).map(String);
  return browser.some((l) => l.toLowerCase().startsWith("zh")) ? "zh-CN" : "en";
}

async function load(name) {
  if (!dictionaries[name]) {
    const answer = await fetch(new URL(`${name}.json`, import.meta.url));
    if (!answer.ok) throw new Error(`locale ${name}: HTTP ${answer.status}`);
    dictionaries[name] = await answer.json();
  }
  return dictionaries[name];
}

export async function setLocale(name) {
  if (!LOCALES.includes(name)) name = "en";
  await Promise.all([load("en"), load(name)]);
  current = name;
  localStorage.setItem(STORAGE_KEY, name);
  document.documentElement.lang = name;
  applyTranslations(document);
  for (const listener of listeners) listener(name);
}

/** The tenant's reporting currency (ISO 4217, from GET /me), or null before sign-in. */
export function setReportingCurrency(code) {
  reportingCurrency = code || null;
}

export function onLocaleChange(listener) {
  listeners.add(listener);
}

/** Marks a string as a translation key that is passed around before it is shown: the i18n unit
 * test finds the keys code uses by the calls of t and of key, and the data-i18n attributes. */
export const key = (name) => name;

/** The string for `key` in the current locale, `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const text = dictionaries[current]?.[key] ?? dictionaries.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The label of a value the API sends (a status, a stage, a channel): `prefix.value` when the
 * locales know it, else the value itself (data the console has no word for yet). */
export function tx(prefix, value) {
  if (value === null || value === undefined || value === "") return "";
  const key = `${prefix}.${value}`;
  return dictionaries[current]?.[key] ?? dictionaries.en?.[key] ?? String(value);
}

export function applyTranslations(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
}

// ---------------------------------------------------------------- formatting

const DASH = "—";

function toNumber(value) {
  if (value === null || value === undefined || value === "") return null;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

export function num(value, options = {}) {
  const n = toNumber(value);
  if (n === null) return DASH;
  return new Intl.NumberFormat(current, { maximumFractionDigits: 2, ...options }).format(n);
}

export function int(value) {
  return num(value, { maximumFractionDigits: 0 });
}

/** An amount in an ISO 4217 currency ("409.94", "USD"); no currency: a plain number. */
export function money(value, currency, options = {}) {
  const n = toNumber(value);
  if (n === null) return DASH;
  if (!currency) return num(n, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  try {
    return new Intl.NumberFormat(current, { style: "currency", currency, ...options }).format(n);
  } catch {
    return `${num(n, { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;
  }
}

export function compactMoney(value, currency) {
  return money(value, currency, { notation: "compact", maximumFractionDigits: 1 });
}

/** A fraction as a percentage (0.1234 is 12.3%). */
export function pct(value, digits = 1) {
  const n = toNumber(value);
  if (n === null) return DASH;
  return new Intl.NumberFormat(current, {
    style: "percent",
    minimumFractionDigits: 0,
    maximumFractionDigits: digits,
  }).format(n);
}

/** A number already in percent (the API's margins: "39.7" is 39.7%). */
export function percentNumber(value) {
  const n = toNumber(value);
  return n === null ? DASH : pct(n / 100);
}

function parseDate(value) {
  if (!value) return null;
  // A bare date is a calendar date: shown as that date, not shifted by the viewer's offset.
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function date(value) {
  const d = parseDate(value);
  if (!d) return DASH;
  const utc = /^\d{4}-\d{2}-\d{2}$/.test(value) ? { timeZone: "UTC" } : {};
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", ...utc }).format(d);
}

export function dateTime(value) {
  const d = parseDate(value);
  if (!d) return DASH;
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(d);
}

/** A period label (2026-11, 2026-Q4, 2026-W47, 2026-11-20) for the locale. */
export function period(label) {
  if (!label) return DASH;
  let m = /^(\d{4})-(\d{2})$/.exec(label);
  if (m) {
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
    return new Intl.DateTimeFormat(current, { year: "numeric", month: "short", timeZone: "UTC" })
      .format(d);
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(label)) return date(label);
  m = /^(\d{4})-Q([1-4])$/.exec(label);
  if (m) return t("period.quarter", { year: m[1], quarter: m[2] });
  m = /^(\d{4})-W(\d{2})$/.exec(label);
  if (m) return t("period.week", { year: m[1], week: Number(m[2]) });
  return label;
}

/** A KPI value by its unit (rates are fractions; currency amounts are in the tenant's reporting
 * currency, which GET /me names, not the KPI rows: see setReportingCurrency). */
export function byUnit(value, unit, currency = reportingCurrency) {
  switch (unit) {
    case "percent":
      return pct(value, 2);
    case "count":
      return num(value, { maximumFractionDigits: 1 });
    case "days":
      return t("unit.days_value", { value: num(value, { maximumFractionDigits: 1 }) });
    case "hours":
      return t("unit.hours_value", { value: num(value, { maximumFractionDigits: 1 }) });
    case "currency":
      return money(value, currency);
    default:
      return num(value, { maximumFractionDigits: 2 });
  }
}

/** Items as the locale lists them ("a, b, and c"; "甲、乙和丙"). */
export function list(items) {
  const shown = items.map(String);
  try {
    return new Intl.ListFormat(current, { style: "long", type: "conjunction" }).format(shown);
  } catch {
    return shown.join(", ");
  }
}

export function countryName(code) {
  if (!code || code.length !== 2 || code === "ZZ") return tx("market", code || "unknown");
  try {
    const name = new Intl.DisplayNames([current], { type: "region" }).of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}
