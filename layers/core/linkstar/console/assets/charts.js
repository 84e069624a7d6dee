// Apache ECharts (vendored, loaded by index.html as a classic script: window.echarts) behind a
// few helpers. Charts are created once their element is in the page and disposed of when the
// page is redrawn; a missing library is said in words rather than a blank box.

import { t } from "./i18n.js";
import { h } from "./ui.js";

const live = new Set();

export const COLORS = {
  primary: "#2f6fed",
  secondary: "#13a89e",
  good: "#1f9d55",
  warn: "#d98b00",
  bad: "#d64545",
  muted: "#9aa5b1",
  subtotal: "#3b4a5a",
};

window.addEventListener("resize", () => {
  for (const chart of live) chart.resize();
});

export function disposeAll() {
  for (const chart of live) chart.dispose();
  live.clear();
}

/** A chart box whose option is built when it is attached (so the box has its size). */
export function chartBox(option, { height = 280, label } = {}) {
  const box = h("div", { class: "chart", style: { height: `${height}px` }, role: "img", "aria-label": label || "" });
  requestAnimationFrame(() => {
    if (!box.isConnected) return;
    if (!window.echarts) {
      box.replaceChildren(h("p", { class: "muted" }, t("error.charts_unavailable")));
      return;
    }
    const chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({ animation: false, textStyle: { fontFamily: "inherit" }, ...option });
    box.dataset.ready = "true";
    live.add(chart);
  });
  return box;
}

export function baseGrid() {
  return { left: 8, right: 16, top: 36, bottom: 8, containLabel: true };
}
