// Queue: the grabs the hub is tracking, with their state and a live progress bar. Updates come from
// `acquisition_grab_updated` hub events (the grab as /api/acquisition/queue lists it; state "removed"
// when it left the queue) and are applied in place; a slow refresh (every 30 s while something is
// active, and after a reconnect) catches anything missed.
//
// Route: #/queue[?all=1]  (all: include imported and failed grabs)
import { api, showError } from "./api.js";
import { debounce, formatAgo, formatSize, formatTime, h, replace } from "./dom.js";
import { hubSocket } from "./ws.js";
import { GRAB_STATES, badge, confirmButton, emptyState, pageHead, plural, progressBar, setProgress } from "./acquisition.js";

const SLOW_REFRESH_MS = 30000;
const ACTIVE = new Set(["queued", "downloading", "import_pending", "importing"]);

export function render(main, { query }) {
  const summary = h("p", { class: "muted page-sub", id: "queue-summary" });
  const showAll = h("input", { type: "checkbox", id: "queue-all", checked: query.get("all") === "1" });
  showAll.addEventListener("change", () => {
    history.replaceState(null, "", showAll.checked ? "#/queue?all=1" : "#/queue");
    load();
  });
  const body = h("tbody", {});
  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table", id: "queue-table" },
      h(
        "thead",
        {},
        h("tr", {}, ["Release", "State", "Progress", "ETA", "Grabbed", ""].map((t) => h("th", { scope: "col", class: t === "ETA" ? "num" : null, text: t }))),
      ),
      body,
    ),
  );
  const box = h("div", { id: "queue", "aria-busy": "true" });
  main.append(pageHead("Queue", summary, h("label", { class: "check" }, showAll, h("span", { text: "Include imported and failed" }))), box);

  /** id → {grab, tr, cells} */
  const rows = new Map();
  let controller = null;

  function drawSummary() {
    const grabs = [...rows.values()].map((r) => r.grab);
    const count = (s) => grabs.filter((g) => g.state === s).length;
    const parts = [plural(grabs.length, "grab")];
    for (const s of ["downloading", "queued", "import_pending", "importing", "failed"]) {
      if (count(s)) parts.push(`${count(s)} ${GRAB_STATES[s][0].toLowerCase()}`);
    }
    summary.textContent = parts.join(" · ");
    if (!grabs.length) replace(box, emptyState("queue", "Nothing is downloading. Grabs from searches and RSS sync show up here."));
    else if (!box.contains(table)) replace(box, table);
  }

  function makeRow(grab) {
    const cells = {
      release: h("td", { class: "release" }),
      state: h("td", {}),
      progress: h("td", { class: "progress-cell" }),
      eta: h("td", { class: "num" }),
      grabbed: h("td", { class: "muted nowrap" }),
      actions: h(
        "td",
        { class: "actions" },
        confirmButton({
          label: "Remove",
          confirmLabel: "Remove?",
          dataset: { action: "remove" },
          title: "Remove from the queue and from the download client",
          action: () => remove(grab.id, false),
        }),
        confirmButton({
          label: "Blocklist",
          confirmLabel: "Remove + blocklist?",
          iconName: "block",
          dataset: { action: "blocklist" },
          title: "Remove it and never grab this release again (then search for another)",
          action: () => remove(grab.id, true),
        }),
      ),
    };
    const bar = progressBar(0, `Progress of ${grab.release_title}`);
    const sizeLine = h("div", { class: "muted small progress-size" });
    cells.progress.append(bar, sizeLine);
    const tr = h("tr", { dataset: { grabId: String(grab.id) } }, Object.values(cells));
    const row = { grab, tr, cells, bar, sizeLine };
    fill(row, grab);
    return row;
  }

  function fill(row, grab) {
    row.grab = grab;
    const { cells } = row;
    row.tr.dataset.state = grab.state;
    replace(
      cells.release,
      h("div", { class: "release-title", text: grab.release_title }),
      h("div", { class: "muted small", text: [grab.quality, grab.indexer, grab.download_client, grab.protocol].filter(Boolean).join(" · ") }),
      grab.message ? h("div", { class: grab.state === "failed" ? "grab-message bad-text" : "grab-message muted small", text: grab.message }) : null,
    );
    replace(cells.state, badge(GRAB_STATES, grab.state, { dataset: { state: grab.state } }));
    setProgress(row.bar, grab.state === "imported" ? 1 : grab.progress);
    row.bar.classList.toggle("done", grab.state === "imported" || grab.progress >= 1);
    row.bar.classList.toggle("failed", grab.state === "failed");
    row.sizeLine.textContent = sizeText(grab);
    cells.eta.textContent = grab.state === "downloading" ? formatEta(grab.eta) : "";
    cells.grabbed.textContent = formatAgo(grab.grabbed_at);
    cells.grabbed.title = formatTime(grab.grabbed_at);
  }

  /** Add or update one grab (from the API or an event). */
  function upsert(grab) {
    if (!grab || grab.id === undefined || grab.id === null) return;
    const existing = rows.get(grab.id);
    if (grab.state === "removed") {
      if (existing) existing.tr.remove();
      rows.delete(grab.id);
      drawSummary();
      return;
    }
    if (existing) {
      fill(existing, { ...existing.grab, ...grab });
    } else {
      const row = makeRow(grab);
      rows.set(grab.id, row);
      body.prepend(row.tr);
    }
    drawSummary();
  }

  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const data = await api("/api/acquisition/queue", { params: { all: showAll.checked ? "true" : "" }, signal: controller.signal });
      const grabs = data.grabs || [];
      const seen = new Set(grabs.map((g) => g.id));
      for (const [id, row] of rows) {
        if (!seen.has(id)) {
          row.tr.remove();
          rows.delete(id);
        }
      }
      // Newest first; rows already shown are updated in place, not rebuilt.
      const sorted = [...grabs].sort((a, b) => (b.grabbed_at ?? 0) - (a.grabbed_at ?? 0));
      for (const g of sorted) {
        const row = rows.get(g.id) || makeRow(g);
        if (rows.has(g.id)) fill(row, g);
        rows.set(g.id, row);
        body.append(row.tr);
      }
      drawSummary();
    } catch (err) {
      showError(err);
    } finally {
      box.setAttribute("aria-busy", "false");
    }
  }

  async function remove(id, blocklist) {
    try {
      await api(`/api/acquisition/queue/${id}`, { method: "DELETE", params: blocklist ? { blocklist: "true" } : null });
      const row = rows.get(id);
      if (row) row.tr.remove();
      rows.delete(id);
      drawSummary();
    } catch (err) {
      showError(err);
    }
  }

  const refresh = debounce(load, 500);
  const offEvent = hubSocket.onEvent((event) => {
    if (event.event_type === "acquisition_grab_updated") upsert(event.data);
    else if (event.event_type === "acquisition_imported") refresh();
  });
  const offStatus = hubSocket.onStatus((status) => {
    if (status === "connected") refresh();
  });
  // A safety net only: events carry every change. Skipped while the tab is hidden.
  const timer = setInterval(() => {
    if (!document.hidden && [...rows.values()].some((r) => ACTIVE.has(r.grab.state))) load();
  }, SLOW_REFRESH_MS);
  load();
  return () => {
    offEvent();
    offStatus();
    refresh.cancel();
    clearInterval(timer);
    if (controller) controller.abort();
  };
}

function sizeText(grab) {
  if (grab.size === null || grab.size === undefined) return "";
  if (grab.downloaded === null || grab.downloaded === undefined || grab.state === "imported") return formatSize(grab.size);
  return `${formatSize(grab.downloaded)} of ${formatSize(grab.size)}`;
}

/** ETA seconds → "45 s", "12 min", "3 h 5 min". */
export function formatEta(eta) {
  if (eta === null || eta === undefined || Number.isNaN(Number(eta)) || eta < 0) return "";
  const s = Math.round(Number(eta));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  const hours = Math.floor(s / 3600);
  const mins = Math.round((s % 3600) / 60);
  return mins ? `${hours} h ${mins} min` : `${hours} h`;
}
