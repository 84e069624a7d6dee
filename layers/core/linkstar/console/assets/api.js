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

/** The first and last day of a month label (YYYY-MM), as the API's from/to dates. */
export function monthRange(month) {
  const [year, mon] = month.split("-").map(Number);
  const last = new Date(Date.UTC(year, mon, 0)).getUTCDate();
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, "0")}` };
}
