// The console's shell: sign-in with an API key, what the key's role may do, the period and the
// language, and a hash router that loads a page's data, then draws it (and draws it again, from
// the same data, when the language changes).

import { api, apiKey, isoWeekOf, onUnauthorized, setApiKey } from "./api.js";
import { disposeAll } from "./charts.js";
import { key, locale, onLocaleChange, period as formatPeriod, preferredLocale, setLocale, setReportingCurrency, t, tx } from "./i18n.js";
import { errorBox, h, loading, toast } from "./ui.js";
import overview from "./page-overview.js";
import kpi from "./page-kpi.js";
import scorecards from "./page-scorecards.js";
import funnel from "./page-funnel.js";
import profit from "./page-profit.js";
import outreach from "./page-outreach.js";
import usage from "./page-usage.js";
import stores from "./page-stores.js";

const PAGES = { overview, kpi, scorecards, funnel, profit, outreach, usage, stores };
const $ = (id) => document.getElementById(id);

const session = { role: null, me: null, period: null };
let apiMonth = null; // the API's month when the session started
let current = null; // {page, data, ctx}
let drawing = 0;
let signingIn = false;

// ---------------------------------------------------------------- roles

// The API's roles, least to most (GET /me names the key's). What the console offers follows the
// routes' own needs; the API still enforces them.
const RANK = { viewer: 1, operator: 2, manager: 3, admin: 4, owner: 5 };
const NEEDS = { manage_flows: "manager", manage_stores: "admin", import_history: "admin" };

function can(action) {
  return (RANK[session.role] || 0) >= RANK[NEEDS[action] || "admin"];
}

// ---------------------------------------------------------------- the period

const MONTHS_BACK = 24;
const QUARTERS_BACK = 7;
const WEEKS_BACK = 12;

/** The period picker: the API's current month, quarter and week and the ones before them (two
 * years of months, two of quarters, a quarter of weeks), named for the locale (a native month
 * input would be named in the browser's language, not the console's). */
function fillPeriods() {
  const select = $("period");
  const [year, month] = (apiMonth || session.period).split("-").map(Number);
  const months = [];
  for (let i = 0; i <= MONTHS_BACK; i += 1) {
    const d = new Date(Date.UTC(year, month - 1 - i, 1));
    months.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`);
  }
  const quarters = [];
  for (let i = 0, q = Math.ceil(month / 3), y = year; i <= QUARTERS_BACK; i += 1) {
    quarters.push(`${y}-Q${q}`);
    [y, q] = q === 1 ? [y - 1, 4] : [y, q - 1];
  }
  // Weeks up to today's when the browser's month is the API's; else (clocks apart) up to the
  // API month's last week, or its first if the browser is behind.
  const today = new Date();
  const browserMonth = today.toISOString().slice(0, 7);
  const apiAt = apiMonth || session.period;
  const latest = browserMonth === apiAt
    ? today
    : browserMonth > apiAt ? new Date(Date.UTC(year, month, 0)) : new Date(Date.UTC(year, month - 1, 1));
  const weeks = [];
  for (let i = 0; i <= WEEKS_BACK; i += 1) {
    const d = new Date(latest);
    d.setUTCDate(latest.getUTCDate() - 7 * i);
    weeks.push(isoWeekOf(d));
  }
  const group = (label, values) => h("optgroup", { label }, values.map((v) => h("option", { value: v }, formatPeriod(v))));
  select.replaceChildren(
    group(t("period.months"), months),
    group(t("period.quarters"), quarters),
    group(t("period.weeks"), [...new Set(weeks)]),
  );
  if (![...select.options].some((o) => o.value === session.period)) {
    select.append(h("option", { value: session.period }, formatPeriod(session.period)));
  }
  select.value = session.period;
}

// ---------------------------------------------------------------- sign-in

function showSignIn(messageKey) {
  setApiKey(null);
  session.role = null;
  session.me = null;
  setReportingCurrency(null);
  session.period = null;
  current = null;
  disposeAll();
  $("view").hidden = true;
  $("view").replaceChildren();
  $("nav").hidden = true;
  $("period-box").hidden = true;
  $("role").hidden = true;
  $("sign-out").hidden = true;
  $("signin").hidden = false;
  const message = $("signin-message");
  message.hidden = !messageKey;
  if (messageKey) {
    message.dataset.i18n = messageKey;
    message.textContent = t(messageKey);
  }
  $("api-key").value = "";
  $("api-key").focus();
}

/** The role chip: the key's role, and its tenant in the tooltip (drawn again on a locale change). */
function showRole() {
  const role = $("role");
  const { me } = session;
  role.hidden = false;
  role.textContent = tx("role", me.role);
  role.title = t("role.title", { role: tx("role", me.role), tenant: me.tenant_name });
  role.dataset.role = me.role;
}

async function startSession() {
  // Who the key is: its role decides what is offered, the reporting currency how money KPIs read.
  const me = await api("/me");
  session.me = me;
  session.role = me.role;
  setReportingCurrency(me.reporting_currency);
  if (!session.period) {
    // The API's own month (its clock), not the browser's: GET /plan answers with it.
    const plan = await api("/plan");
    session.period = plan.month;
    apiMonth = plan.month;
  }
  $("signin").hidden = true;
  $("view").hidden = false;
  $("nav").hidden = false;
  $("period-box").hidden = false;
  fillPeriods();
  $("sign-out").hidden = false;
  showRole();
  if (!location.hash || location.hash === "#/") location.hash = "#/overview";
  else show();
}

async function signIn(event) {
  event.preventDefault();
  const typed = $("api-key").value.trim();
  const button = $("signin-submit");
  if (!typed) return;
  button.disabled = true;
  setApiKey(typed);
  signingIn = true;
  try {
    await startSession();
  } catch (error) {
    if (error.status === 401) showSignIn(key("signin.invalid"));
    else {
      setApiKey(null);
      const message = $("signin-message");
      message.hidden = false;
      message.dataset.i18n = error.status === 0 ? key("error.network") : key("error.server");
      message.textContent = t(message.dataset.i18n);
    }
  } finally {
    signingIn = false;
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- routing and drawing

function route() {
  const [name, ...args] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  return { name: PAGES[name] ? name : "overview", args };
}

function context(name, args) {
  return {
    name,
    args,
    period: session.period,
    apiMonth,
    role: session.role,
    can,
    state: {},
    reload: () => show(),
    redraw: () => draw(),
  };
}

async function show() {
  if (!apiKey() || !session.role) return;
  const { name, args } = route();
  const page = PAGES[name];
  const token = ++drawing;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.route === (page.nav || name));
  }
  const ctx = current && current.ctx.name === name && current.ctx.args.join("/") === args.join("/")
    ? { ...current.ctx, period: session.period }
    : context(name, args);
  disposeAll();
  $("view").replaceChildren(loading());
  try {
    const data = await page.load(ctx);
    if (token !== drawing) return;
    current = { page, data, ctx };
    draw();
  } catch (error) {
    if (token !== drawing || error.status === 401) return;
    current = null;
    $("view").replaceChildren(h("h1", {}, t(page.title)), errorBox(error, () => show()));
  }
}

/** Loads the page shown again and redraws it, keeping what is shown until the answer is in
 * (and if the answer fails: the page was already drawn once with the same data). */
async function refresh() {
  if (!current || !apiKey()) return;
  const { page, ctx } = current;
  const token = ++drawing;
  try {
    const data = await page.load(ctx);
    // What the person opened on the page (an order's profit, a statement, an import job) holds
    // the API's sentences too: the page fetches it again.
    if (page.reloadState) await page.reloadState(ctx);
    if (token !== drawing) return;
    current = { page, data, ctx };
    draw();
  } catch (error) {
    if (error.status !== 401) console.warn("refresh failed", error);
  }
}

function draw() {
  if (!current) return;
  const { page, data, ctx } = current;
  disposeAll();
  let body;
  try {
    body = page.render(data, ctx);
  } catch (error) {
    console.error(error);
    body = errorBox({ status: -1 });
  }
  $("view").replaceChildren(h("h1", { class: "page-title" }, t(page.title)), body);
  $("view").dataset.page = ctx.name;
  $("view").dataset.locale = locale();
}

// ---------------------------------------------------------------- start

// A 401 while signing in is a wrong key (said by signIn); later, a key that stopped working.
onUnauthorized(() => {
  if (!signingIn) showSignIn(key("signin.expired"));
});
onLocaleChange(() => {
  if (session.role) {
    fillPeriods();
    showRole();
  }
  draw(); // the console's own words switch at once
  refresh(); // the API's sentences come back in the new language
});
window.addEventListener("hashchange", () => show());
window.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  if (event.reason && event.reason.status === 401) return;
  toast(t("error.unexpected"), "error");
});

document.addEventListener("DOMContentLoaded", async () => {
  // Listeners first: the sign-in form is shown only once it works.
  $("lang").addEventListener("change", (event) => setLocale(event.target.value));
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => showSignIn(null));
  $("period").addEventListener("change", (event) => {
    if (!event.target.value) return;
    session.period = event.target.value;
    show();
  });
  try {
    await setLocale(preferredLocale());
  } catch {
    // The translations could not be fetched: the page's own English text stays.
  }
  $("lang").value = locale();
  if (!apiKey()) {
    showSignIn(null);
    return;
  }
  $("view").hidden = false;
  $("view").replaceChildren(loading());
  try {
    await startSession();
  } catch (error) {
    showSignIn(error.status === 401 ? key("signin.expired") : key("error.server"));
  }
});
