// Item detail: the player (direct play or a progressive stream, with the hub's decision and its
// reasons, subtitles, resume and watched state — player.js), "Play on" another device (cast.js),
// and every technical field the library stored.
import { api, showError } from "./api.js";
import { castPicker } from "./cast.js";
import { formatBitrate, formatDuration, formatEpisode, formatSize, formatTime, formatValue, h, replace } from "./dom.js";
import { icon, TYPE_LABELS } from "./icons.js";
import { createPlayer } from "./player.js";
import { hubSocket } from "./ws.js";
import { fileName, itemSubtitle, lastLibraryHash } from "./view-library.js";

const VIDEO_TYPES = new Set(["movie", "episode", "video"]);
const AUDIO_TYPES = new Set(["track", "audiobook"]);

export function render(main, { params }) {
  const id = params[0];
  const body = h("div", { class: "item", id: "item-detail", "aria-busy": "true" });
  main.append(
    h("p", { class: "crumbs" }, h("a", { href: lastLibraryHash, class: "back-link" }, icon("back"), "Back to library")),
    body,
  );

  let controller = null;
  let parts = []; // the player and the cast picker of the rendered item: destroyed on re-render
  const teardown = () => {
    for (const part of parts) part.destroy();
    parts = [];
  };
  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const item = await api(`/api/media/${encodeURIComponent(id)}`, { signal: controller.signal });
      teardown();
      parts = renderItem(body, item);
    } catch (err) {
      if (err.name === "AbortError") return;
      if (err.status === 404) replace(body, h("div", { class: "empty" }, h("p", { text: `Item ${id} is not in the library (it may have been removed).` })));
      else showError(err);
    } finally {
      body.setAttribute("aria-busy", "false");
    }
  }

  // Refresh when this item changes (rescan, move) — but never while it is playing.
  const offEvent = hubSocket.onEvent((event) => {
    const data = event.data || {};
    const touches = String((data.item && data.item.id) ?? data.item_id ?? "") === String(id);
    if (!touches || !["media_updated", "media_moved", "media_removed"].includes(event.event_type)) return;
    const player = body.querySelector("video, audio");
    if (player && !player.paused) return;
    load();
  });

  load();
  return () => {
    offEvent();
    if (controller) controller.abort();
    teardown();
    const player = body.querySelector("video, audio");
    if (player) player.pause();
  };
}

/** Draw the item; returns the parts that need destroy() when the page goes. */
function renderItem(body, item) {
  const parts = [];
  const playerPanel = h("section", { class: "player-panel", "aria-label": "Player" });
  if (VIDEO_TYPES.has(item.type) || AUDIO_TYPES.has(item.type)) {
    let player = null;
    const picker = castPicker(item, { position: () => (player ? player.startPosition() : 0), onCast: () => player && player.pause() });
    player = createPlayer(item, { audio: AUDIO_TYPES.has(item.type), tools: [picker.button] });
    playerPanel.append(player.element, picker.remote, picker.panel);
    parts.push(player, picker);
  } else {
    playerPanel.append(staticPlayer(item));
  }
  const failed = item.status === "error";
  const title = item.title || fileName(item.path);
  replace(
    body,
    h(
      "header",
      { class: "page-head item-head" },
      h(
        "div",
        { class: "item-title" },
        h("span", { class: `type-tile type-${item.type}` }, icon(item.type)),
        h(
          "div",
          {},
          h("h1", { id: "item-title", text: title }),
          h("p", { class: "muted page-sub", text: [TYPE_LABELS[item.type] || item.type, itemSubtitle(item)].filter(Boolean).join(" · ") }),
        ),
      ),
      h("span", { class: `badge ${failed ? "bad" : "ok"}`, id: "item-status", text: item.status || "ok" }),
    ),
    failed ? h("div", { class: "alert", role: "note" }, icon("warning"), h("div", {}, h("strong", { text: "This file could not be read. " }), h("span", { text: item.error || "Unknown error." }))) : null,
    h(
      "div",
      { class: "item-layout" },
      h(
        "div",
        { class: "item-main" },
        playerPanel,
        trackTable("Audio tracks", item.audio_tracks, "audio-tracks"),
        trackTable("Subtitle tracks", item.subtitle_tracks, "subtitle-tracks"),
      ),
      h("div", { class: "facts" }, factSections(item)),
    ),
  );
  return parts;
}

/** A photo, or a download link for what the browser does not play. */
function staticPlayer(item) {
  const src = item.stream_url || `/api/stream/${item.id}`;
  if (item.type === "photo") {
    return h("img", { src, alt: item.title || fileName(item.path), id: "player", class: "photo" });
  }
  return h("div", { class: "no-player" }, icon(item.type, "icon audio-icon"), h("a", { class: "btn primary", href: src, download: fileName(item.path) }, "Download file"));
}

function factSections(item) {
  const resolution = item.width && item.height ? `${item.width}×${item.height}` : "";
  const general = [
    ["Path", item.path, "mono"],
    ["File size", item.size != null ? `${formatSize(item.size)} (${Number(item.size).toLocaleString()} bytes)` : ""],
    ["Container", item.container],
    ["Duration", item.duration != null ? `${formatDuration(item.duration)} (${Number(item.duration).toFixed(2)} s)` : ""],
    ["Overall bitrate", formatBitrate(item.bitrate)],
    ["MIME type", item.mime_type],
    ["Status", item.status],
    ["Error", item.error],
    ["Library", item.library_id],
    ["Added", formatTime(item.added_at)],
    ["Updated", formatTime(item.updated_at)],
  ];
  const video = [
    ["Video codec", item.video_codec],
    ["Resolution", resolution],
    ["Audio codec", item.audio_codec],
    ["Quality", item.quality],
  ];
  const naming = [
    ["Title", item.title],
    ["Year", item.year],
    ["Season / episode", formatEpisode(item.season, item.episode)],
    ["Episode title", item.episode_title],
    ["Absolute episode", item.absolute_episode],
    ["Air date", item.air_date],
    ["Release group", item.release_group],
    ["Artist", item.artist],
    ["Album", item.album],
  ];
  return [
    factTable("File", general, "facts-file"),
    factTable("Streams", video, "facts-streams"),
    factTable("Name", naming, "facts-name"),
    mapTable("Parsed name", item.parsed, "parsed"),
    mapTable(item.type === "photo" ? "EXIF" : "Tags", item.tags, "tags"),
  ];
}

function section(title, id, content) {
  return h("section", { class: "panel", "aria-labelledby": `${id}-h`, id }, h("h2", { id: `${id}-h`, text: title }), content);
}

/** A two-column table of [label, value, class]; empty values are left out. */
function factTable(title, rows, id) {
  const shown = rows.filter(([, v]) => v !== null && v !== undefined && v !== "");
  if (!shown.length) return null;
  return section(
    title,
    id,
    h(
      "table",
      { class: "kv" },
      h("tbody", {}, shown.map(([label, value, cls]) => h("tr", {}, h("th", { scope: "row", text: label }), h("td", { class: cls || null, text: formatValue(value) })))),
    ),
  );
}

/** A table for an object's keys and values. */
function mapTable(title, map, id) {
  if (!map || typeof map !== "object" || !Object.keys(map).length) return null;
  return factTable(title, Object.entries(map).map(([k, v]) => [k, v]), id);
}

/** A table for a list of track objects; columns are the union of their keys. */
function trackTable(title, tracks, id) {
  if (!Array.isArray(tracks) || !tracks.length) return null;
  const columns = [];
  for (const track of tracks) for (const key of Object.keys(track || {})) if (!columns.includes(key)) columns.push(key);
  return section(
    title,
    id,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table compact" },
        h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", text: c.replaceAll("_", " ") })))),
        h("tbody", {}, tracks.map((t) => h("tr", {}, columns.map((c) => h("td", { text: formatCell(c, t[c]) }))))),
      ),
    ),
  );
}

function formatCell(column, value) {
  if (column === "bitrate" || column === "bit_rate") return formatBitrate(value);
  return formatValue(value);
}
