// The LinkStar API as the console calls it: the signed-in key (kept in sessionStorage, this tab
// only) as `Authorization: Bearer <key>`, JSON in and out, and errors as ApiError with the API's
// machine-readable `code`. A 401 means the key is unknown, revoked or expired: the app is told so
// it can go back to sign-in with a message.

import { locale } from "./i18n.js";

const KEY_STORAGE = "linkstar.console.apiKey";

/** Where the API is: the page is served at <api>/console (a stage prefix kept). */
export const API_BASE = location.pathname.replace(/\/console\/?$/, "");

let unauthorizedHandler = () => {};

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/** Call the API. `body` is sent as JSON unless `contentType` says otherwise (a file upload). */
export async function api(path, { method = "GET", body, contentType, key = apiKey() } = {}) {
  // The API writes its sentences (reasons, how a cost was worked out, errors) in this language.
  const headers = { Accept: "application/json", "Accept-Language": locale() };
  if (key) headers.Authorization = `Bearer ${key}`;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = contentType || "application/json";
    payload = contentType ? body : JSON.stringify(body);
  }
  let answer;
  try {
    answer = await fetch(API_BASE + path, { method, headers, body: payload, cache: "no-store" });
  } catch (error) {
    throw new ApiError(0, "network_error", String(error && error.message), null);
  }
  const text = await answer.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (answer.ok) return data;
  const code = (data && data.code) || `http_${answer.status}`;
  const error = new ApiError(answer.status, code, data && data.message, data);
  if (answer.status === 401) unauthorizedHandler(error);
  throw error;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

const iso = (d) => d.toISOString().slice(0, 10);

/** The Monday of ISO week `week` of `year` (week 1 holds 4 January). */
export function isoWeekStart(year, week) {
  const jan4 = new Date(Date.UTC(year, 0, 4));
  const monday = new Date(jan4);
  monday.setUTCDate(jan4.getUTCDate() - ((jan4.getUTCDay() + 6) % 7) + (week - 1) * 7);
  return monday;
}

/** The ISO week label (YYYY-Www) of a date. */
export function isoWeekOf(d) {
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  thursday.setUTCDate(thursday.getUTCDate() + 3 - ((thursday.getUTCDay() + 6) % 7));
  const week = Math.round((thursday - isoWeekStart(thursday.getUTCFullYear(), 1)) / 604800000) + 1;
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}

/** The first and last day of a period label (YYYY-MM-DD, YYYY-Www, YYYY-MM or YYYY-Qn, as the
 * API names periods), as the API's from/to dates. */
export function periodRange(label) {
  let m = /^(\d{4})-(\d{2})$/.exec(label);
  if (m) {
    const [year, mon] = [Number(m[1]), Number(m[2])];
    return { from: iso(new Date(Date.UTC(year, mon - 1, 1))), to: iso(new Date(Date.UTC(year, mon, 0))) };
  }
  m = /^(\d{4})-Q([1-4])$/.exec(label);
  if (m) {
    const [year, q] = [Number(m[1]), Number(m[2])];
    return { from: iso(new Date(Date.UTC(year, 3 * q - 3, 1))), to: iso(new Date(Date.UTC(year, 3 * q, 0))) };
  }
  m = /^(\d{4})-W(\d{2})$/.exec(label);
  if (m) {
    const monday = isoWeekStart(Number(m[1]), Number(m[2]));
    const sunday = new Date(monday);
    sunday.setUTCDate(monday.getUTCDate() + 6);
    return { from: iso(monday), to: iso(sunday) };
  }
  return { from: label, to: label };
}

/** The billing month (YYYY-MM) a period ends in, no later than `current` (usage is billed by
 * the month: a quarter or week shows the month it ends in, or this month if it ends later). */
export function billingMonth(label, current) {
  const month = periodRange(label).to.slice(0, 7);
  return current && month > current ? current : month;
}
