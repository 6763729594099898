// Indexers & download clients: each one's platform, protocol and health — OK, failing (with the
// error, the failure count and when the hub tries again), disabled or not used yet. Refreshes on
// `acquisition_health_changed` hub events.
//
// Route: #/indexers
import { api, showError } from "./api.js";
import { debounce, formatAgo, formatTime, h, replace } from "./dom.js";
import { icon } from "./icons.js";
import { hubSocket } from "./ws.js";
import { HEALTH_STATUS, badge, emptyState, formatIn, pageHead, plural, withoutName } from "./acquisition.js";

export function render(main) {
  const summary = h("p", { class: "muted page-sub", id: "health-summary" });
  const indexers = h("div", { id: "health-indexers", "aria-busy": "true" });
  const clients = h("div", { id: "health-clients", "aria-busy": "true" });
  const metadataTitle = h("h2", { class: "section-title", text: "Metadata providers", hidden: true });
  const metadata = h("div", { id: "health-metadata" });
  main.append(
    pageHead("Indexers & download clients", summary),
    h("h2", { class: "section-title first", text: "Indexers" }),
    indexers,
    h("h2", { class: "section-title", text: "Download clients" }),
    clients,
    metadataTitle,
    metadata,
  );

  let controller = null;
  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const data = await api("/api/acquisition/health", { signal: controller.signal });
      const ix = data.indexers || [];
      const dc = data.download_clients || [];
      const mp = data.metadata_providers || [];
      const failing = [...ix, ...dc, ...mp].filter((x) => x.status === "failing").length;
      summary.textContent = `${plural(ix.length, "indexer")} · ${plural(dc.length, "download client")}${failing ? ` · ${failing} failing` : ""}`;
      replace(indexers, cards(ix, "indexers", "No indexers are configured. Add a torznab, newznab or rss indexer under plugins in configuration.yaml."));
      replace(clients, cards(dc, "queue", "No download clients are configured. Add qbittorrent, transmission, nzbget or sabnzbd in configuration.yaml."));
      // Metadata providers are optional: the section only shows when one is configured.
      metadataTitle.hidden = !mp.length;
      replace(metadata, mp.length ? cards(mp, "search", "") : null);
    } catch (err) {
      showError(err);
    } finally {
      indexers.setAttribute("aria-busy", "false");
      clients.setAttribute("aria-busy", "false");
    }
  }

  const refresh = debounce(load, 300);
  const offEvent = hubSocket.onEvent((event) => {
    if (event.event_type === "acquisition_health_changed" || event.event_type === "plugin_state_changed") refresh();
  });
  const offStatus = hubSocket.onStatus((status) => {
    if (status === "connected") refresh();
  });
  // Keep "retry in …" honest without asking the hub: redraw the relative times each 30 s.
  const ticker = setInterval(() => {
    for (const el of main.querySelectorAll("[data-retry-at]")) el.textContent = retryText(Number(el.dataset.retryAt));
  }, 30000);
  load();
  return () => {
    offEvent();
    offStatus();
    refresh.cancel();
    clearInterval(ticker);
    if (controller) controller.abort();
  };
}

function retryText(at) {
  const rel = formatIn(at);
  return rel === "now" ? "retrying now" : `retry ${rel}`;
}

function cards(items, iconName, emptyText) {
  if (!items.length) return emptyState(iconName, emptyText);
  const order = { failing: 0, unknown: 1, ok: 2, disabled: 3 };
  const sorted = [...items].sort((a, b) => (order[a.status] ?? 1) - (order[b.status] ?? 1) || a.name.localeCompare(b.name));
  return h(
    "ul",
    { class: "cards health-cards" },
    sorted.map((x) => {
      const failing = x.status === "failing" || (x.status === "disabled" && Boolean(x.message));
      return h(
        "li",
        { class: `panel health status-${x.status}${failing ? " plugin-failed" : ""}`, dataset: { name: x.name, status: x.status } },
        h(
          "div",
          { class: "panel-head" },
          h("h2", {}, icon(failing ? "warning" : iconName), h("span", { text: x.name })),
          badge(HEALTH_STATUS, x.status),
        ),
        failing || (x.message && x.status !== "ok")
          ? h(
              "div",
              { class: failing ? "alert" : "note", role: failing ? "alert" : null },
              h(
                "div",
                {},
                h("span", { class: "reason health-message", text: withoutName(x.message, x.name) || "failing" }),
                x.retry_at ? h("div", { class: "muted small" }, h("span", { class: "retry", dataset: { retryAt: String(x.retry_at) }, title: formatTime(x.retry_at), text: retryText(x.retry_at) })) : null,
              ),
            )
          : null,
        h(
          "dl",
          { class: "dl" },
          pair("Platform", x.platform),
          pair("Protocol", x.protocol),
          pair("Enabled", x.enabled === undefined ? null : x.enabled ? "yes" : "no"),
          pair("Failures", x.failures ? String(x.failures) : null),
          x.last_success
            ? [h("dt", { text: "Last success" }), h("dd", { title: formatTime(x.last_success), text: formatAgo(x.last_success) })]
            : pair("Last success", x.status === "ok" ? null : "never"),
        ),
      );
    }),
  );
}

function pair(label, value) {
  if (value === null || value === undefined || value === "") return null;
  return [h("dt", { text: label }), h("dd", { text: value })];
}
