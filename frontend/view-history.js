// History: what happened to each release (grabbed, imported, upgraded, failed, blocklisted …),
// newest first, and the Blocklist (releases never to grab again) with a remove button.
// Both refresh live from acquisition_* hub events.
//
// Routes: #/history[?event=<type>]   #/history?tab=blocklist
import { api, showError } from "./api.js";
import { debounce, formatAgo, formatTime, formatValue, h, replace } from "./dom.js";
import { HISTORY_EVENTS, badge, confirmButton, dataTable, emptyState, pageHead, plural, tabStrip } from "./acquisition.js";
import { hubSocket } from "./ws.js";

const LIMIT = 200;

export function render(main, { query }) {
  const tab = query.get("tab") === "blocklist" ? "blocklist" : "history";
  const eventFilter = query.get("event") || "";
  const summary = h("p", { class: "muted page-sub", id: "history-summary" });
  const filter = h(
    "select",
    { id: "history-event", "aria-label": "Event type" },
    h("option", { value: "", text: "All events" }),
    Object.entries(HISTORY_EVENTS).map(([v, [label]]) => h("option", { value: v, text: label, selected: v === eventFilter })),
  );
  const toolbar = h("div", { class: "toolbar", hidden: tab !== "history" }, filter);
  const tabsBox = tabStrip(
    [
      { id: "history", label: "History", href: "#/history" },
      { id: "blocklist", label: "Blocklist", href: "#/history?tab=blocklist" },
    ],
    tab,
    "History lists",
  );
  const box = h("div", { id: tab === "history" ? "history" : "blocklist", "aria-busy": "true" });
  main.append(pageHead(tab === "history" ? "History" : "Blocklist", summary), tabsBox, toolbar, box);

  filter.addEventListener("change", () => {
    history.replaceState(null, "", filter.value ? `#/history?event=${encodeURIComponent(filter.value)}` : "#/history");
    load();
  });

  let controller = null;
  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      if (tab === "history") {
        const data = await api("/api/acquisition/history", { params: { limit: LIMIT, event: filter.value }, signal: controller.signal });
        // Filter here too, in case the server ignores ?event=.
        const events = (data.events || []).filter((e) => !filter.value || e.event === filter.value);
        summary.textContent = events.length >= LIMIT ? `The latest ${LIMIT} events` : plural(events.length, "event");
        replace(box, historyTable(events));
      } else {
        const data = await api("/api/acquisition/blocklist", { signal: controller.signal });
        const entries = data.entries || [];
        summary.textContent = `${plural(entries.length, "release")} never to be grabbed again`;
        replace(box, blocklistTable(entries));
      }
    } catch (err) {
      showError(err);
    } finally {
      box.setAttribute("aria-busy", "false");
    }
  }

  function blocklistTable(entries) {
    if (!entries.length) return emptyState("block", "The blocklist is empty.");
    const rows = entries.map((e) =>
      h(
        "tr",
        { dataset: { entryId: String(e.id) } },
        h("td", { class: "release-title", text: e.release_title }),
        h("td", { class: "nowrap", text: e.indexer || "" }),
        h("td", { text: e.protocol || "" }),
        h("td", { class: "reason-cell", text: e.reason || "" }),
        h("td", { class: "muted nowrap", title: formatTime(e.at), text: formatAgo(e.at) }),
        h(
          "td",
          { class: "actions" },
          confirmButton({
            label: "Remove",
            confirmLabel: "Remove?",
            dataset: { action: "remove" },
            title: "Allow this release to be grabbed again",
            action: async () => {
              try {
                await api(`/api/acquisition/blocklist/${e.id}`, { method: "DELETE" });
                load();
              } catch (err) {
                showError(err);
              }
            },
          }),
        ),
      ),
    );
    return dataTable(["Release", "Indexer", "Protocol", "Reason", "When", ""], rows, { id: "blocklist-table" });
  }

  const refresh = debounce(load, 600);
  const offEvent = hubSocket.onEvent((event) => {
    if (!event.event_type.startsWith("acquisition_")) return;
    if (event.event_type === "acquisition_grab_updated" || event.event_type === "acquisition_health_changed") {
      // Progress ticks and health changes add no history rows; a state change may.
      if (!event.data || !["imported", "failed"].includes(event.data.state)) return;
    }
    refresh();
  });
  const offStatus = hubSocket.onStatus((status) => {
    if (status === "connected") refresh();
  });
  load();
  return () => {
    offEvent();
    offStatus();
    refresh.cancel();
    if (controller) controller.abort();
  };
}

function historyTable(events) {
  if (!events.length) return emptyState("history", "No acquisition history yet.");
  const rows = events.map((e) =>
    h(
      "tr",
      { dataset: { eventId: String(e.id), event: e.event } },
      h("td", {}, badge(HISTORY_EVENTS, e.event)),
      h(
        "td",
        { class: "release" },
        h("div", { class: "release-title", text: e.release_title || "" }),
        e.message ? h("div", { class: "muted small history-message", text: e.message }) : null,
        dataDetails(e.data),
      ),
      h("td", { class: "nowrap", text: e.quality || "" }),
      h("td", { class: "nowrap", text: e.indexer || "" }),
      h("td", { class: "nowrap", text: e.download_client || "" }),
      h("td", { class: "muted nowrap", title: formatTime(e.at), text: formatAgo(e.at) }),
    ),
  );
  return dataTable(["Event", "Release", "Quality", "Indexer", "Client", "When"], rows, { id: "history-table" });
}

function dataDetails(data) {
  if (!data || typeof data !== "object" || !Object.keys(data).length) return null;
  return h(
    "details",
    { class: "history-data" },
    h("summary", { text: "Details" }),
    h(
      "dl",
      { class: "dl" },
      Object.entries(data).map(([k, v]) => [h("dt", { text: k }), h("dd", { class: "mono", text: formatValue(v) })]),
    ),
  );
}
