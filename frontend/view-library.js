// Library browser: statistics, search and filters, a grid or list of items, paging, "Scan now",
// and live refresh from hub events (a file added to a library folder appears without a reload).
import { api, showError } from "./api.js";
import { debounce, formatDuration, formatEpisode, formatSize, h, replace } from "./dom.js";
import { icon, TYPE_LABELS } from "./icons.js";
import { hubSocket } from "./ws.js";

const PAGE_SIZE = 48;
const LIVE_EVENTS = new Set([
  "media_added",
  "media_updated",
  "media_removed",
  "media_moved",
  "library_scan_finished",
]);

/** The last library URL (with its filters), so "Back to library" returns to the same view. */
export let lastLibraryHash = "#/library";

function readState(query) {
  return {
    text: query.get("text") || "",
    type: query.get("type") || "",
    library: query.get("library") || "",
    offset: Math.max(0, Number.parseInt(query.get("offset") || "0", 10) || 0),
    view: query.get("view") === "list" ? "list" : "grid",
  };
}

function stateHash(state) {
  const q = new URLSearchParams();
  if (state.text) q.set("text", state.text);
  if (state.type) q.set("type", state.type);
  if (state.library) q.set("library", state.library);
  if (state.offset) q.set("offset", String(state.offset));
  if (state.view !== "grid") q.set("view", state.view);
  const qs = q.toString();
  return qs ? `#/library?${qs}` : "#/library";
}

/** Episode/year/etc. line under an item's title. */
export function itemSubtitle(item) {
  const parts = [];
  const se = formatEpisode(item.season, item.episode);
  if (item.type === "episode" && se) parts.push(se);
  if (item.episode_title) parts.push(item.episode_title);
  if (item.artist) parts.push(item.artist);
  if (item.album) parts.push(item.album);
  if (item.year) parts.push(String(item.year));
  return parts.join(" · ");
}

function resolution(item) {
  if (!item.width || !item.height) return "";
  return `${item.width}×${item.height}`;
}

export function render(main, { query }) {
  const state = readState(query);
  lastLibraryHash = stateHash(state);
  let controller = null;
  let generation = 0;
  let scanning = false;

  // ---- skeleton --------------------------------------------------------------------------------
  const scanButton = h("button", { type: "button", class: "btn primary", id: "scan-now" }, icon("scan"), h("span", { text: "Scan now" }));
  const summary = h("p", { class: "muted page-sub", id: "library-summary" });
  const statsBox = h("section", { class: "stats", "aria-label": "Library statistics" });

  const searchInput = h("input", {
    type: "search",
    id: "library-search",
    name: "text",
    placeholder: "Search titles, names, paths…",
    autocomplete: "off",
    value: state.text,
  });
  const typeSelect = h(
    "select",
    { id: "library-type", name: "type" },
    h("option", { value: "", text: "All types" }),
    Object.entries(TYPE_LABELS).map(([value, label]) => h("option", { value, text: label, selected: value === state.type })),
  );
  const librarySelect = h("select", { id: "library-library", name: "library" }, h("option", { value: "", text: "All libraries" }));
  const viewToggle = h(
    "div",
    { class: "segmented", role: "group", "aria-label": "Layout" },
    h("button", { type: "button", class: "seg", "aria-pressed": String(state.view === "grid"), dataset: { view: "grid" }, title: "Grid" }, icon("grid"), h("span", { class: "sr-only", text: "Grid" })),
    h("button", { type: "button", class: "seg", "aria-pressed": String(state.view === "list"), dataset: { view: "list" }, title: "List" }, icon("list"), h("span", { class: "sr-only", text: "List" })),
  );
  const toolbar = h(
    "form",
    { class: "toolbar", role: "search", onsubmit: (e) => e.preventDefault() },
    h("label", { class: "search-field" }, icon("search"), h("span", { class: "sr-only", text: "Search" }), searchInput),
    h("label", { class: "select-field" }, h("span", { class: "sr-only", text: "Type" }), typeSelect),
    h("label", { class: "select-field" }, h("span", { class: "sr-only", text: "Library" }), librarySelect),
    viewToggle,
  );
  const count = h("p", { class: "result-count muted", id: "result-count", "aria-live": "polite" });
  const results = h("div", { id: "library-results", "aria-busy": "true" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });

  main.append(
    h("header", { class: "page-head" }, h("div", {}, h("h1", { text: "Library" }), summary), scanButton),
    statsBox,
    toolbar,
    count,
    results,
    pager,
  );

  // ---- data ------------------------------------------------------------------------------------
  function setScanning(value) {
    scanning = Boolean(value);
    scanButton.disabled = scanning;
    scanButton.classList.toggle("busy", scanning);
    scanButton.querySelector("span").textContent = scanning ? "Scanning…" : "Scan now";
  }

  async function loadStats() {
    try {
      const stats = await api("/api/library/stats");
      renderStats(stats);
      setScanning(stats.scanning);
    } catch (err) {
      showError(err);
    }
  }

  function renderStats(stats) {
    summary.textContent = `${stats.total_items ?? 0} items · ${formatSize(stats.total_size ?? 0)} · ${formatDuration(stats.total_duration ?? 0)} of playback`;
    const byType = Object.entries(stats.by_type || {})
      .map(([type, v]) => [type, typeof v === "object" && v !== null ? v.count ?? 0 : v])
      .filter(([, n]) => n);
    replace(
      statsBox,
      statCard("Items", String(stats.total_items ?? 0)),
      statCard("Size", formatSize(stats.total_size ?? 0)),
      statCard("Playback", formatDuration(stats.total_duration ?? 0)),
      statCard("Errors", String(stats.errors ?? 0), stats.errors ? "stat-bad" : ""),
      byType.length
        ? h(
            "ul",
            { class: "type-chips", "aria-label": "Items by type" },
            byType.map(([type, n]) =>
              h("li", {}, h("button", { type: "button", class: "chip", onclick: () => applyFilter({ type }) }, icon(type), `${TYPE_LABELS[type] || type} `, h("b", { text: String(n) }))),
            ),
          )
        : null,
    );
  }

  async function loadLibraries() {
    try {
      const { libraries } = await api("/api/libraries");
      for (const lib of libraries || []) {
        librarySelect.append(h("option", { value: String(lib.id), text: `${lib.name} (${lib.item_count ?? 0})`, selected: String(lib.id) === state.library }));
      }
    } catch (err) {
      showError(err);
    }
  }

  async function loadItems() {
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = ++generation;
    results.setAttribute("aria-busy", "true");
    try {
      const data = await api("/api/media", {
        params: { text: state.text, type: state.type, library: state.library, limit: PAGE_SIZE, offset: state.offset },
        signal: controller.signal,
      });
      if (mine !== generation) return;
      renderItems(data.items || [], data.total ?? 0);
    } catch (err) {
      if (mine === generation) showError(err);
    } finally {
      if (mine === generation) results.setAttribute("aria-busy", "false");
    }
  }

  function renderItems(items, total) {
    // A live refresh rebuilds the grid: keep keyboard focus on the same item if it is still there.
    const focused = results.contains(document.activeElement) ? document.activeElement.closest("[data-id]") : null;
    const focusedId = focused ? focused.dataset.id : null;
    const first = total ? state.offset + 1 : 0;
    const last = state.offset + items.length;
    count.textContent = total ? `Showing ${first}–${last} of ${total}` : "";
    if (!items.length) {
      const filtered = state.text || state.type || state.library;
      replace(
        results,
        h(
          "div",
          { class: "empty" },
          icon("library", "icon empty-icon"),
          h("p", { text: filtered ? "Nothing matches these filters." : "The library is empty. Add files to a library folder or press “Scan now”." }),
        ),
      );
    } else if (state.view === "list") {
      replace(results, itemTable(items));
    } else {
      replace(results, h("ul", { class: "grid", id: "media-grid" }, items.map(itemCard)));
    }
    renderPager(total);
    if (focusedId) {
      const again = results.querySelector(`[data-id="${CSS.escape(focusedId)}"]`);
      const target = again && (again.matches("a") ? again : again.querySelector("a"));
      if (target) target.focus({ preventScroll: true });
    }
  }

  function renderPager(total) {
    const pages = Math.ceil(total / PAGE_SIZE);
    if (pages <= 1) {
      replace(pager);
      return;
    }
    const page = Math.floor(state.offset / PAGE_SIZE) + 1;
    replace(
      pager,
      h("button", { type: "button", class: "btn", disabled: page <= 1, onclick: () => applyFilter({ offset: state.offset - PAGE_SIZE }, true) }, "← Previous"),
      h("span", { class: "muted", text: `Page ${page} of ${pages}` }),
      h("button", { type: "button", class: "btn", disabled: page >= pages, onclick: () => applyFilter({ offset: state.offset + PAGE_SIZE }, true) }, "Next →"),
    );
  }

  /** Change filters, keep them in the URL (without a hashchange re-render) and reload. */
  function applyFilter(change, keepOffset = false) {
    Object.assign(state, change);
    if (!keepOffset) state.offset = 0;
    state.offset = Math.max(0, state.offset);
    lastLibraryHash = stateHash(state);
    history.replaceState(null, "", lastLibraryHash);
    typeSelect.value = state.type;
    for (const b of viewToggle.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.view === state.view));
    loadItems();
  }

  // ---- interactions ----------------------------------------------------------------------------
  const search = debounce(() => applyFilter({ text: searchInput.value.trim() }), 250);
  searchInput.addEventListener("input", search);
  typeSelect.addEventListener("change", () => applyFilter({ type: typeSelect.value }));
  librarySelect.addEventListener("change", () => applyFilter({ library: librarySelect.value }));
  viewToggle.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-view]");
    if (button) applyFilter({ view: button.dataset.view }, true);
  });
  scanButton.addEventListener("click", async () => {
    setScanning(true);
    try {
      const body = state.library ? { library_id: Number(state.library) } : {};
      await api("/api/library/scan", { method: "POST", body });
    } catch (err) {
      setScanning(false);
      showError(err);
    }
  });

  // ---- live updates ----------------------------------------------------------------------------
  const refresh = debounce(() => {
    loadItems();
    loadStats();
  }, 400);
  const offEvent = hubSocket.onEvent((event) => {
    if (event.event_type === "library_scan_started") setScanning(true);
    if (event.event_type === "library_scan_finished") setScanning(false);
    if (LIVE_EVENTS.has(event.event_type)) refresh();
  });
  const offStatus = hubSocket.onStatus((status) => {
    if (status === "connected") refresh(); // we may have missed events while offline
  });

  loadStats();
  loadLibraries();
  loadItems();

  return () => {
    offEvent();
    offStatus();
    refresh.cancel();
    search.cancel();
    if (controller) controller.abort();
  };
}

function statCard(label, value, extra = "") {
  return h("div", { class: `stat ${extra}` }, h("span", { class: "stat-label", text: label }), h("span", { class: "stat-value", text: value }));
}

function itemCard(item) {
  const failed = item.status === "error";
  const thumb = h("div", { class: `thumb type-${item.type}` }, icon(item.type, "icon thumb-icon"));
  if (item.type === "photo" && !failed) {
    const img = h("img", { src: `/api/stream/${encodeURIComponent(item.id)}`, alt: "", loading: "lazy", decoding: "async" });
    img.addEventListener("error", () => img.remove());
    thumb.append(img);
  }
  thumb.append(h("span", { class: "thumb-type", text: TYPE_LABELS[item.type] || item.type }));
  if (failed) thumb.append(h("span", { class: "badge bad thumb-badge", text: "Error" }));
  const meta = [item.height ? `${item.height}p` : "", formatDuration(item.duration), formatSize(item.size)].filter(Boolean);
  return h(
    "li",
    { class: "card-wrap" },
    h(
      "a",
      { class: `card${failed ? " card-error" : ""}`, href: `#/item/${item.id}`, dataset: { id: String(item.id), type: item.type } },
      thumb,
      h(
        "div",
        { class: "card-body" },
        h("h3", { class: "card-title", text: item.title || fileName(item.path) }),
        h("p", { class: "card-sub", text: itemSubtitle(item) || "\u00a0" }),
        h("p", { class: "card-meta", text: meta.join(" · ") }),
      ),
    ),
  );
}

const NUMERIC_COLUMNS = new Set(["Year", "Duration", "Size"]);

function itemTable(items) {
  const head = ["Title", "Type", "Year", "Episode", "Resolution", "Duration", "Size", "Status"];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table", id: "media-table" },
      h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col", class: NUMERIC_COLUMNS.has(t) ? "num" : null, text: t })))),
      h(
        "tbody",
        {},
        items.map((item) =>
          h(
            "tr",
            { dataset: { id: String(item.id) } },
            h("td", {}, h("a", { href: `#/item/${item.id}`, class: "row-link" }, icon(item.type), h("span", { text: item.title || fileName(item.path) }))),
            h("td", { text: TYPE_LABELS[item.type] || item.type }),
            h("td", { class: "num", text: item.year ?? "" }),
            h("td", { text: formatEpisode(item.season, item.episode) }),
            h("td", { text: resolution(item) }),
            h("td", { class: "num", text: formatDuration(item.duration) }),
            h("td", { class: "num", text: formatSize(item.size) }),
            h("td", {}, item.status === "error" ? h("span", { class: "badge bad", title: item.error || "", text: "error" }) : h("span", { class: "badge ok", text: "ok" })),
          ),
        ),
      ),
    ),
  );
}

export function fileName(path) {
  return String(path || "").split(/[\\/]/).pop();
}
