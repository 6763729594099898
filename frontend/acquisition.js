// Shared pieces of the acquisition pages (Wanted, Search, Queue, History, Indexers & clients):
// labels, badges, a two-step confirm button, a progress bar and small table helpers.
import { formatEpisode, h } from "./dom.js";
import { icon } from "./icons.js";

/** Wanted title kinds (core/db/models.py WantedTitle.media_type). */
export const MEDIA_TYPES = { series: "Series", movie: "Movie", album: "Album", book: "Book" };

/** The search type that suits each media type (Newznab t= functions). */
export const SEARCH_TYPE_FOR = { series: "tvsearch", movie: "movie", album: "music", book: "book" };

/** Newznab search functions, as offered in the interactive search's type select. */
export const SEARCH_TYPES = { search: "Any", tvsearch: "TV", movie: "Movies", music: "Music", book: "Books" };

/** Which episodes of a series are wanted. */
export const MONITOR = { all: "All episodes", future: "Future episodes", seasons: "Chosen seasons", none: "None" };

export const GRAB_STATES = {
  queued: ["Queued", "muted"],
  downloading: ["Downloading", "info"],
  import_pending: ["Import pending", "warn"],
  importing: ["Importing", "info"],
  imported: ["Imported", "ok"],
  failed: ["Failed", "bad"],
  removed: ["Removed", "muted"],
};

export const TARGET_STATUS = {
  missing: ["Missing", "warn"],
  cutoff_unmet: ["Cutoff unmet", "info"],
  have: ["Have", "ok"],
  queued: ["Queued", "muted"],
  unmonitored: ["Unmonitored", "muted"],
};

export const HEALTH_STATUS = {
  ok: ["OK", "ok"],
  failing: ["Failing", "bad"],
  disabled: ["Disabled", "muted"],
  unknown: ["Unknown", "muted"],
};

export const HISTORY_EVENTS = {
  grabbed: ["Grabbed", "info"],
  grab_failed: ["Grab failed", "bad"],
  imported: ["Imported", "ok"],
  upgraded: ["Upgraded", "ok"],
  import_failed: ["Import failed", "bad"],
  download_failed: ["Download failed", "bad"],
  blocklisted: ["Blocklisted", "warn"],
  deleted: ["Deleted", "muted"],
};

/** A status badge from one of the tables above (unknown values show as written). */
export function badge(table, value, extra = {}) {
  const [label, cls] = table[value] || [value || "—", "muted"];
  return h("span", { class: `badge ${cls}`, text: label, ...extra });
}

/** "S01E02", "2024-03-05" for a daily show, "#12" for an absolute number, else "". */
export function targetCode(target) {
  if (!target) return "";
  if (target.kind && target.kind !== "episode") return "";
  if (target.season !== null && target.season !== undefined && target.episode !== null && target.episode !== undefined) {
    return formatEpisode(target.season, target.episode);
  }
  if (target.air_date) return target.air_date;
  if (target.absolute_episode) return `#${target.absolute_episode}`;
  return formatEpisode(target.season, target.episode);
}

/** One line naming a target: "Show Name S01E02 · Pilot" / "Movie (2010)". */
export function targetLabel(target, title = null) {
  const name = title || target.title || "";
  const code = targetCode(target);
  return [name, code].filter(Boolean).join(" ") + (target.name && target.name !== name ? ` · ${target.name}` : "");
}

/** Age of a release from its publish time (epoch seconds): "45 min", "5 h", "12 d". */
export function formatReleaseAge(published) {
  if (published === null || published === undefined || published === "") return "";
  const secs = Math.max(0, Date.now() / 1000 - Number(published));
  if (Number.isNaN(secs)) return "";
  if (secs < 3600) return `${Math.max(1, Math.round(secs / 60))} min`;
  if (secs < 86400) return `${Math.round(secs / 3600)} h`;
  return `${Math.round(secs / 86400)} d`;
}

/** "in 4 min" / "now" for a future time (epoch seconds). */
export function formatIn(at) {
  if (at === null || at === undefined || at === "") return "";
  const secs = Number(at) - Date.now() / 1000;
  if (Number.isNaN(secs)) return "";
  if (secs <= 5) return "now";
  if (secs < 90) return `in ${Math.round(secs)} s`;
  if (secs < 5400) return `in ${Math.round(secs / 60)} min`;
  return `in ${Math.round(secs / 3600)} h`;
}

/** An accessible progress bar for a fraction 0–1 (update it with setProgress). */
export function progressBar(fraction, label = "Progress") {
  const bar = h(
    "div",
    { class: "progress", role: "progressbar", "aria-label": label, "aria-valuemin": "0", "aria-valuemax": "100" },
    h("div", { class: "progress-track" }, h("div", { class: "progress-fill" })),
    h("span", { class: "progress-text" }),
  );
  setProgress(bar, fraction);
  return bar;
}

/** Move a progressBar() to `fraction` (0–1). */
export function setProgress(bar, fraction) {
  const pct = Math.max(0, Math.min(100, Math.round(Number(fraction || 0) * 1000) / 10));
  bar.setAttribute("aria-valuenow", String(pct));
  bar.querySelector(".progress-fill").style.width = `${pct}%`;
  bar.querySelector(".progress-text").textContent = `${Number.isInteger(pct) ? pct : pct.toFixed(1)}%`;
}

/**
 * A button that asks before it acts: the first click turns it into "Confirm?" for a few
 * seconds, the second click runs `action` (async). It is disabled while the action runs.
 */
export function confirmButton({ label, confirmLabel = "Confirm?", iconName = "trash", className = "btn small", action, title = null, dataset = {} }) {
  const text = h("span", { text: label });
  const button = h("button", { type: "button", class: className, title, dataset }, icon(iconName), text);
  let armed = false;
  let timer = null;
  const disarm = () => {
    armed = false;
    button.classList.remove("armed");
    text.textContent = label;
  };
  button.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      button.classList.add("armed");
      text.textContent = confirmLabel;
      clearTimeout(timer);
      timer = setTimeout(disarm, 4000);
      return;
    }
    clearTimeout(timer);
    disarm();
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** A button running an async action with a busy state; returns the button. */
export function actionButton({ label, iconName, className = "btn small", action, title = null, dataset = {}, busyLabel = null }) {
  const text = h("span", { text: label });
  const button = h("button", { type: "button", class: className, title, dataset }, iconName ? icon(iconName) : null, text);
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.classList.add("busy");
    if (busyLabel) text.textContent = busyLabel;
    try {
      await action(button);
    } finally {
      button.disabled = false;
      button.classList.remove("busy");
      if (busyLabel) text.textContent = label;
    }
  });
  return button;
}

/** A tab strip of links: `tabs` = [{id, label, href, count?}]. */
export function tabStrip(tabs, current, label) {
  return h(
    "nav",
    { class: "tabs", "aria-label": label },
    tabs.map((t) =>
      h(
        "a",
        { class: "tab", href: t.href, "aria-current": t.id === current ? "page" : null, dataset: { tab: t.id } },
        h("span", { text: t.label }),
        t.count === undefined || t.count === null ? null : h("span", { class: "tab-count", text: String(t.count) }),
      ),
    ),
  );
}

/** The standard page header: title, a muted sub-line element, and action buttons. */
export function pageHead(title, sub, ...actions) {
  return h("header", { class: "page-head" }, h("div", {}, h("h1", { text: title }), sub), actions.length ? h("div", { class: "head-actions" }, actions) : null);
}

/** An empty-state block with an icon and text. */
export function emptyState(iconName, text) {
  return h("div", { class: "empty" }, icon(iconName, "icon empty-icon"), h("p", { text }));
}

/** A table inside the scrolling wrapper: `head` is [label | {label, num}], `rows` are <tr>s. */
export function dataTable(head, rows, attrs = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table", ...attrs },
      h("thead", {}, h("tr", {}, head.map((c) => (typeof c === "string" ? h("th", { scope: "col", text: c }) : h("th", { scope: "col", class: c.num ? "num" : c.class || null, text: c.label }))))),
      h("tbody", {}, rows),
    ),
  );
}

/**
 * A provider's error message without its own name in front ("broken: the indexer answered …" →
 * "the indexer answered …", "skipped: broken: …" → "skipped: …"), for places that already show
 * the name next to it.
 */
export function withoutName(message, name) {
  const text = String(message || "");
  const prefix = `${name}: `;
  if (!name) return text;
  if (text.startsWith(prefix)) return text.slice(prefix.length);
  const at = text.indexOf(`: ${prefix}`);
  return at >= 0 && at < 16 ? text.slice(0, at + 2) + text.slice(at + 2 + prefix.length) : text;
}

/** Plural helper: plural(3, "release") → "3 releases". */
export function plural(n, word, many = `${word}s`) {
  return `${n} ${n === 1 ? word : many}`;
}
