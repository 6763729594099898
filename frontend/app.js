// Dashboard entry point: hash router, sidebar, connection status and hub info.
//
// Routes: #/library[?text=&type=&library=&offset=&view=]  #/item/<id>  #/devices  #/entities
//         #/plugins  #/events
//         acquisition: #/wanted[?tab=]  #/wanted/<id>  #/search[?q=&type=&title_id=&target_id=]
//         #/queue  #/history[?tab=blocklist]  #/indexers
//         playback and optimiser: #/activity  #/transcode
//         live TV and DVR: #/guide[?start=]  #/dvr  #/live/<channel number>
// Each view module exports `render(main, {params, query}) → cleanup function | undefined`.
import { api, clearError, showError } from "./api.js";
import { replace } from "./dom.js";
import { startEventLog } from "./eventlog.js";
import { icon } from "./icons.js";
import { hubSocket } from "./ws.js";
import * as devices from "./view-devices.js";
import * as entities from "./view-entities.js";
import * as events from "./view-events.js";
import * as item from "./view-item.js";
import * as library from "./view-library.js";
import * as plugins from "./view-plugins.js";
import * as activity from "./view-playback.js";
import * as transcode from "./view-transcode.js";
import * as acquisitionHealth from "./view-acquisition-health.js";
import * as acquisitionHistory from "./view-history.js";
import * as acquisitionQueue from "./view-queue.js";
import * as acquisitionSearch from "./view-search.js";
import * as wanted from "./view-wanted.js";
import * as guide from "./view-guide.js";
import * as dvr from "./view-dvr.js";
import * as live from "./view-live.js";

const ROUTES = [
  { pattern: /^\/library$/, name: "library", view: library, title: "Library" },
  { pattern: /^\/item\/(\d+)$/, name: "library", view: item, title: "Item" },
  { pattern: /^\/activity$/, name: "activity", view: activity, title: "Activity" },
  { pattern: /^\/transcode$/, name: "transcode", view: transcode, title: "Optimise" },
  { pattern: /^\/devices$/, name: "devices", view: devices, title: "Devices" },
  { pattern: /^\/entities$/, name: "entities", view: entities, title: "Entities" },
  { pattern: /^\/plugins$/, name: "plugins", view: plugins, title: "Plugins" },
  { pattern: /^\/events$/, name: "events", view: events, title: "Events" },
  { pattern: /^\/wanted$/, name: "wanted", view: wanted, title: "Wanted" },
  { pattern: /^\/wanted\/(\d+)$/, name: "wanted", view: wanted, title: "Wanted" },
  { pattern: /^\/search$/, name: "search", view: acquisitionSearch, title: "Interactive search" },
  { pattern: /^\/queue$/, name: "queue", view: acquisitionQueue, title: "Queue" },
  { pattern: /^\/history$/, name: "history", view: acquisitionHistory, title: "History" },
  { pattern: /^\/indexers$/, name: "indexers", view: acquisitionHealth, title: "Indexers & clients" },
  { pattern: /^\/guide$/, name: "guide", view: guide, title: "Guide" },
  { pattern: /^\/dvr$/, name: "dvr", view: dvr, title: "DVR" },
  { pattern: /^\/live\/([^/]+)$/, name: "guide", view: live, title: "Live TV" },
];

let cleanup = null;

/** Split "#/path?query" into a path and URLSearchParams. */
export function parseHash(hash = window.location.hash) {
  const raw = hash.replace(/^#/, "") || "/library";
  const [path, search = ""] = raw.split("?", 2);
  return { path, query: new URLSearchParams(search) };
}

function route() {
  const { path, query } = parseHash();
  const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
  if (!match) {
    window.location.replace("#/library");
    return;
  }
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  clearError();
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.route === match.r.name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${match.r.title} · Omni-Media`;
  const main = document.getElementById("main");
  replace(main);
  try {
    cleanup = match.r.view.render(main, { params: match.m.slice(1), query });
  } catch (err) {
    showError(err);
  }
  main.focus({ preventScroll: true });
}

function setupChrome() {
  document.getElementById("brand-mark").appendChild(icon("logo", "icon brand-icon"));
  for (const link of document.querySelectorAll("#nav a")) link.prepend(icon(link.dataset.icon));
  document.getElementById("banner-close").addEventListener("click", clearError);

  const conn = document.getElementById("conn");
  const connText = document.getElementById("conn-text");
  const labels = { connecting: "Connecting…", connected: "Live", disconnected: "Offline — retrying" };
  hubSocket.onStatus((status) => {
    conn.dataset.status = status;
    connText.textContent = labels[status] || status;
    if (status === "connected") refreshHubInfo();
  });
}

async function refreshHubInfo() {
  const info = document.getElementById("hub-info");
  try {
    const health = await api("/api/health");
    const db = { sqlite: "SQLite", postgresql: "PostgreSQL" }[health.database] || health.database;
    info.textContent = [`v${health.version}`, health.state, db].filter(Boolean).join(" · ");
  } catch (err) {
    info.textContent = "";
    showError(err);
  }
}

setupChrome();
startEventLog();
hubSocket.start();
refreshHubInfo();
window.addEventListener("hashchange", route);
route();
