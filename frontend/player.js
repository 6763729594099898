// The item page's player: asks the hub how this browser plays the item (device profile
// `desktop_browser`), plays it, and shows that decision with its reasons.
//
// - Direct play: the <video>/<audio> element gets /api/stream/<id> (byte ranges, native seeking).
// - Direct stream (remux) or transcode: a playback session is created when playback starts
//   (POST /api/playback/sessions) and its progressive fragmented-MP4 URL is played. Such a stream
//   is made on the fly and has no byte ranges, so seeking restarts it with ?start=<seconds>; the
//   element's own time then counts from that start (`offset`), and the player shows item time.
// - Subtitles: text tracks can be chosen; the hub's WebVTT sidecar becomes a <track>.
// - Resume: "Resume from 12:34" / "Start over" when a position was saved; the position is reported
//   every 10 s while playing, on pause and at the end (which marks the item watched), and when the
//   page is left — then the session is stopped too (its ffmpeg ends).
//
// Events used: playback_session_updated (our session stopped elsewhere, or failed) and
// playback_position_updated (watched state changed, e.g. by a cast).
import { api } from "./api.js";
import { formatDuration, h, replace, svgIcon } from "./dom.js";
import { icon } from "./icons.js";
import { hubSocket } from "./ws.js";

/** The device profile this dashboard plays with (core/playback/profiles.py). */
export const PROFILE = "desktop_browser";
/** Milliseconds between two position reports while playing. */
const REPORT_EVERY_MS = 10000;

export const METHODS = {
  direct_play: ["Direct play", "ok"],
  direct_stream: ["Direct stream", "info"],
  transcode: ["Transcode", "warn"],
};

const PATHS = {
  play: ["M7 4.5v15l12.5-7.5z"],
  pause: ["M7 5h3.5v14H7z", "M13.5 5H17v14h-3.5z"],
  stop: ["M6 6h12v12H6z"],
  cast: ["M3 8V6.5A1.5 1.5 0 0 1 4.5 5h15A1.5 1.5 0 0 1 21 6.5v11a1.5 1.5 0 0 1-1.5 1.5H14", "M3 12a7 7 0 0 1 7 7", "M3 15.5a3.5 3.5 0 0 1 3.5 3.5", "M3 19h.01"],
  restart: ["M4 12a8 8 0 1 0 2.3-5.6", "M4 4v5h5"],
  check: ["M5 12l5 5 9-10"],
};

/** A media-control icon (play, pause, stop, cast, restart, check). Decorative. */
export function mediaIcon(name, className = "icon") {
  return svgIcon(PATHS[name] || PATHS.play, className);
}

/** This tab's client name for the hub: a new session of the same client replaces its old one. */
export function clientId() {
  const key = "omnimedia-player-client";
  let id = null;
  try {
    id = sessionStorage.getItem(key);
  } catch {
    id = null;
  }
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    id = `browser:${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
    try {
      sessionStorage.setItem(key, id);
    } catch {
      // private mode: one id per page load is fine
    }
  }
  return id;
}

// ISO 639-2 (what ffprobe reports) → BCP 47 primary tags, for <track srclang>.
const LANGS = {
  eng: "en", fre: "fr", fra: "fr", ger: "de", deu: "de", spa: "es", ita: "it", por: "pt", rus: "ru",
  jpn: "ja", chi: "zh", zho: "zh", kor: "ko", dut: "nl", nld: "nl", swe: "sv", nor: "no", dan: "da",
  fin: "fi", pol: "pl", tur: "tr", ara: "ar", heb: "he", hin: "hi", cze: "cs", ces: "cs", gre: "el", ell: "el",
  hun: "hu", rum: "ro", ron: "ro", ukr: "uk",
};
const IMAGE_SUBTITLES = new Set(["hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle", "xsub"]);

/** "English · SDH (subrip)"-style label of a subtitle track. */
export function subtitleLabel(track) {
  let language = track.language || "";
  try {
    const tag = LANGS[language] || language;
    if (tag && tag !== "und") language = new Intl.DisplayNames([navigator.language || "en"], { type: "language" }).of(tag) || language;
  } catch {
    // unknown code: show it as written
  }
  const shown = language && language !== "und" ? language : "";
  const extra = track.title && track.title.toLowerCase() !== shown.toLowerCase() ? track.title : "";
  const name = [shown, extra].filter(Boolean).join(" · ") || `Track ${track.index}`;
  const notes = [track.codec, track.forced ? "forced" : "", IMAGE_SUBTITLES.has(track.codec) ? "picture: burned in" : ""].filter(Boolean);
  return notes.length ? `${name} (${notes.join(", ")})` : name;
}

/** One sentence on what the hub does to the file for this decision. */
export function decisionSummary(decision, item = {}) {
  const part = (what, value, source) => {
    if (value === null || value === undefined) return `no ${what}`;
    if (value === "copy") return `${what} copied${source ? ` (${source})` : ""}`;
    return `${what} encoded to ${value}${source ? ` from ${source}` : ""}`;
  };
  const streams = [part("video", decision.video, item.video_codec), part("audio", decision.audio, item.audio_codec)];
  if (item.type && !["movie", "episode", "video"].includes(item.type) && decision.video === null) streams.shift();
  const container = decision.container ? decision.container.toUpperCase() : "a stream";
  const delivery = decision.protocol === "hls" ? "HLS segments" : `a progressive ${container} stream`;
  if (decision.method === "direct_play") return "The browser plays the file as it is, with byte-range seeking.";
  if (decision.method === "direct_stream") return `Repackaged while it plays into ${delivery}: ${streams.join(", ")} — nothing is re-encoded.`;
  return `Converted while it plays into ${delivery}: ${streams.join(", ")}.`;
}

const SUBTITLE_DELIVERY = {
  none: "none",
  webvtt: "WebVTT text track",
  embed: "inside the stream",
  burn_in: "burned into the picture",
};

/** The decision block: method badge, what happens, and why a better method was not possible. */
export function renderDecision(box, decision, item, { mime = null, note = null } = {}) {
  const [label, cls] = METHODS[decision.method] || [decision.method, "muted"];
  const reasons = decision.reasons || [];
  replace(
    box,
    h("h2", { id: "playback-decision-h", text: "How it plays in this browser" }),
    h(
      "p",
      { class: "decision-line" },
      h("span", { class: `badge ${cls}`, id: "decision-method", dataset: { method: decision.method }, text: label }),
      h("span", { class: "decision-summary", text: decisionSummary(decision, item) }),
    ),
    reasons.length
      ? h(
          "ul",
          { class: "decision-reasons", id: "decision-reasons", "aria-label": "Why not direct play" },
          reasons.map((r) => h("li", { text: `${label}: ${r}` })),
        )
      : null,
    h(
      "dl",
      { class: "dl decision-facts" },
      h("dt", { text: "Device profile" }),
      h("dd", { text: decision.profile }),
      h("dt", { text: "Delivery" }),
      h("dd", { text: decision.method === "direct_play" ? "the file (HTTP byte ranges)" : decision.protocol === "hls" ? "HLS" : "progressive fragmented MP4" }),
      mime ? [h("dt", { text: "Media type" }), h("dd", { class: "mono", text: mime })] : null,
      h("dt", { text: "Subtitles" }),
      h("dd", { text: SUBTITLE_DELIVERY[decision.subtitles] || decision.subtitles }),
      decision.max_bitrate ? [h("dt", { text: "Bitrate limit" }), h("dd", { text: `${Math.round(decision.max_bitrate / 1000)} kb/s` })] : null,
    ),
    note ? h("p", { class: "muted small", text: note }) : null,
  );
}

/**
 * The player of a video or audio `item` (as GET /api/media/{id} returns it).
 * `tools`: extra controls for the toolbar (the "Play on" button).
 * Returns {element, itemTime(), startPosition(), pause(), destroy()}.
 */
export function createPlayer(item, { audio = false, tools = [] } = {}) {
  const id = item.id;
  const client = clientId();
  const title = item.title || "";
  const media = h(audio ? "audio" : "video", {
    id: "player",
    controls: true,
    preload: "metadata",
    playsinline: true,
    "aria-label": `Play ${title}`.trim(),
  });
  const startButton = h("button", { type: "button", class: "btn primary player-start", id: "player-start" }, mediaIcon("play"), h("span", { text: "Play" }));
  const overlay = h("div", { class: "player-overlay", hidden: true }, startButton);
  const stage = h("div", { class: audio ? "player-stage audio-player" : "player-stage" }, audio ? icon(item.type, "icon audio-icon") : null, media, overlay);

  const resumeText = h("span", {});
  const resumeButton = h("button", { type: "button", class: "btn primary small", id: "player-resume" }, mediaIcon("play"), h("span", {}));
  const overButton = h("button", { type: "button", class: "btn small", id: "player-start-over" }, mediaIcon("restart"), h("span", { text: "Start over" }));
  const resumeBox = h("div", { class: "note resume-box", id: "resume-box", hidden: true }, resumeText, h("span", { class: "resume-actions" }, resumeButton, overButton));

  const seek = h("input", { type: "range", id: "player-seek", min: "0", max: "0", step: "0.1", value: "0", "aria-label": "Position in the item", disabled: true });
  const timeText = h("span", { class: "player-time", id: "player-time", text: "" });
  const seekRow = h(
    "div",
    { class: "player-seek", hidden: true, title: "This stream is made while it plays: moving here restarts it at that time" },
    seek,
    timeText,
  );
  const status = h("p", { class: "player-status muted small", id: "player-status", role: "status", "aria-live": "polite" });
  const problem = h("div", { class: "alert player-error", id: "player-error", role: "alert", hidden: true });

  const textSubs = (item.subtitle_tracks || []).filter((t) => t && t.index !== undefined && t.index !== null);
  const subSelect = h(
    "select",
    { id: "player-subtitles" },
    h("option", { value: "", text: "Off" }),
    textSubs.map((t) => h("option", { value: String(t.index), text: subtitleLabel(t) })),
  );
  const subField = textSubs.length ? h("label", { class: "inline-field" }, h("span", { class: "field-label", text: "Subtitles" }), subSelect) : null;

  const watchedBox = h("div", { class: "watched-state", id: "watched-state" });
  const decisionBox = h("section", { class: "panel decision", id: "playback-decision", "aria-labelledby": "playback-decision-h", "aria-busy": "true" },
    h("h2", { id: "playback-decision-h", text: "How it plays in this browser" }),
    h("p", { class: "muted", text: "Asking the hub…" }));

  const element = h(
    "div",
    { class: "player" },
    stage,
    resumeBox,
    seekRow,
    status,
    problem,
    h("div", { class: "player-tools" }, subField, watchedBox, h("span", { class: "spacer" }), tools),
    decisionBox,
  );

  // ---- state ---------------------------------------------------------------------------------
  let decision = null;
  let plan = null; // {url, session_id, subtitles_url, mime_type, duration}
  let direct = true;
  let offset = 0; // item seconds at the element's time 0 (progressive restarts)
  let duration = item.duration || null;
  let subtitleStream = null;
  let played = false;
  let started = false; // the user asked to play (the resume offer goes away)
  let restarting = false;
  let sessionGone = false;
  let dragging = false;
  let destroyed = false;
  let left = false;
  let savedRow = null;
  const ourStops = new Set(); // sessions we stopped or replaced ourselves
  const controller = new AbortController();

  const itemTime = () => offset + (Number.isFinite(media.currentTime) ? media.currentTime : 0);

  function say(text) {
    status.textContent = text || "";
  }
  function fail(text) {
    problem.hidden = !text;
    replace(problem, text ? [h("strong", { text: "Playback problem: " }), h("span", { text })] : []);
  }

  // ---- sources -------------------------------------------------------------------------------
  function setTrack(url) {
    for (const old of media.querySelectorAll("track")) old.remove();
    if (!url) return;
    const chosen = textSubs.find((t) => String(t.index) === String(subtitleStream)) || {};
    const track = h("track", {
      kind: "subtitles",
      src: url,
      label: subtitleLabel(chosen),
      srclang: LANGS[chosen.language] || (chosen.language && chosen.language !== "und" ? chosen.language : null),
      default: true,
    });
    media.append(track);
    // <track default> only counts when the element first loads; show it explicitly.
    const show = () => {
      for (const t of media.textTracks) t.mode = t.label === track.label ? "showing" : "disabled";
    };
    show();
    track.addEventListener("load", show);
  }

  function sidecarUrl(at) {
    if (!plan || !plan.subtitles_url) return null;
    if (direct) return plan.subtitles_url;
    const sep = plan.subtitles_url.includes("?") ? "&" : "?";
    return `${plan.subtitles_url}${sep}start=${at.toFixed(3)}`;
  }

  function streamUrl(at) {
    return at > 0 ? `${plan.url}?start=${at.toFixed(3)}` : plan.url;
  }

  function useSource(url, trackUrl) {
    restarting = true;
    media.src = url;
    setTrack(trackUrl);
    overlay.hidden = true;
    media.controls = true;
  }

  function clearSource() {
    media.pause();
    media.removeAttribute("src");
    for (const old of media.querySelectorAll("track")) old.remove();
    media.load();
  }

  function play() {
    const attempt = media.play();
    if (attempt && attempt.catch) {
      attempt.catch((err) => {
        if (err.name === "AbortError") return; // a new source replaced this one
        if (err.name === "NotAllowedError") say("The browser blocked autoplay: press play.");
        else fail(err.message);
      });
    }
  }

  // ---- asking the hub --------------------------------------------------------------------------
  async function decide() {
    decisionBox.setAttribute("aria-busy", "true");
    try {
      const answer = await api(`/api/items/${encodeURIComponent(id)}/decision`, {
        params: { profile: PROFILE, subtitle_stream: subtitleStream ?? "" },
        signal: controller.signal,
      });
      decision = answer.decision;
      renderDecision(decisionBox, decision, item, { mime: answer.mime_type });
      return answer;
    } catch (err) {
      if (err.name !== "AbortError") {
        replace(decisionBox, h("h2", { id: "playback-decision-h", text: "How it plays in this browser" }), h("p", { class: "bad-text", id: "decision-error", text: err.message }));
      }
      throw err;
    } finally {
      decisionBox.setAttribute("aria-busy", "false");
    }
  }

  /** Start a playback session at `at` item seconds; sets `plan` and `offset`. */
  async function createSession(at) {
    say("Starting the stream…");
    const previous = plan && plan.session_id;
    const body = { item_id: Number(id), profile: PROFILE, start: Math.max(0, at), client };
    if (subtitleStream !== null) body.subtitle_stream = Number(subtitleStream);
    if (previous) ourStops.add(previous); // the hub replaces this client's old session
    const answer = await api("/api/playback/sessions", { method: "POST", body, signal: controller.signal });
    if (destroyed) {
      if (answer.session_id) stopSession(answer.session_id);
      return;
    }
    plan = answer;
    direct = !answer.session_id;
    sessionGone = false;
    offset = Number(answer.start || 0);
    duration = answer.duration || duration;
    decision = answer.decision;
    renderDecision(decisionBox, decision, item, { mime: answer.mime_type });
    seekRow.hidden = direct;
    say(direct ? "" : `Streaming through the hub (session ${answer.session_id}).`);
  }

  function stopSession(sid, keepalive = false) {
    if (!sid) return;
    ourStops.add(sid);
    fetch(`/api/playback/sessions/${encodeURIComponent(sid)}`, { method: "DELETE", keepalive }).catch(() => {});
  }

  /** Set the player up for the current decision (no session yet: that waits for "play"). */
  async function setup() {
    const answer = await decide();
    if (destroyed) return;
    if (decision.method === "direct_play") {
      if (plan && plan.session_id) stopSession(plan.session_id);
      const subs = decision.subtitles === "webvtt" && decision.subtitle_stream !== null
        ? `/api/items/${encodeURIComponent(id)}/subtitles/${decision.subtitle_stream}.vtt`
        : null;
      const keep = played ? itemTime() : null;
      const wasPlaying = !media.paused;
      plan = { url: answer.stream_url || `/api/stream/${id}`, session_id: null, subtitles_url: subs, mime_type: answer.mime_type };
      direct = true;
      offset = 0;
      seekRow.hidden = true;
      if (media.getAttribute("src") !== plan.url) {
        useSource(plan.url, subs);
        if (keep !== null) seekWhenReady(keep, wasPlaying);
      } else {
        setTrack(subs);
      }
      say("");
      return;
    }
    // Remux or transcode: a session is made when playback starts (or now, if it is already going).
    direct = false;
    seekRow.hidden = false;
    updateTime();
    if (played) {
      const wasPlaying = !media.paused;
      await createSession(itemTime());
      useSource(streamUrl(offset), sidecarUrl(offset));
      if (wasPlaying) play();
    } else {
      if (plan && plan.session_id) stopSession(plan.session_id);
      plan = null;
      clearSource();
      media.controls = false;
      overlay.hidden = false;
      say(`${METHODS[decision.method][0]}: the hub starts a stream when you press play.`);
    }
  }

  function seekWhenReady(at, thenPlay) {
    const go = () => {
      media.currentTime = at;
      if (thenPlay) play();
    };
    if (media.readyState >= 1) go();
    else media.addEventListener("loadedmetadata", go, { once: true });
  }

  /** Play from `at` item seconds (resume / start over / seek bar / play button). */
  async function startAt(at, { autoplay = true } = {}) {
    fail(null);
    started = true;
    resumeBox.hidden = true;
    try {
      if (direct) {
        if (!media.getAttribute("src") && plan) useSource(plan.url, plan.subtitles_url);
        seekWhenReady(at, autoplay);
        return;
      }
      if (!plan || !plan.session_id || sessionGone) await createSession(at);
      if (destroyed || !plan) return;
      offset = at;
      useSource(streamUrl(at), sidecarUrl(at));
      updateTime();
      if (autoplay) play();
    } catch (err) {
      if (err.name !== "AbortError") fail(err.message);
    }
  }

  /** Move to `at` item seconds: inside what is buffered the element seeks, else the stream restarts. */
  function seekTo(at) {
    if (direct) {
      media.currentTime = at;
      return;
    }
    const local = at - offset;
    if (local >= 0 && isBuffered(local)) {
      media.currentTime = local;
      return;
    }
    startAt(at, { autoplay: !media.paused || !played });
  }

  function isBuffered(time) {
    const ranges = media.buffered;
    for (let i = 0; i < ranges.length; i += 1) {
      if (time >= ranges.start(i) && time <= ranges.end(i)) return true;
    }
    return false;
  }

  // ---- position, watched -----------------------------------------------------------------------
  function showWatched(row) {
    if (!row) return;
    savedRow = row;
    if (!started && !played) showResume(row);
    const button = h("button", { type: "button", class: "btn small", id: "watched-toggle" }, mediaIcon("check"), h("span", { text: row.watched ? "Mark as unwatched" : "Mark as watched" }));
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const next = await api(`/api/items/${encodeURIComponent(id)}/watched`, { method: row.watched ? "DELETE" : "POST", body: row.watched ? undefined : { device: PROFILE } });
        showWatched(next);
      } catch (err) {
        fail(err.message);
        button.disabled = false;
      }
    });
    const text = row.watched
      ? `Played ${row.play_count === 1 ? "once" : `${row.play_count} times`}`
      : row.position > 0
        ? `Stopped at ${formatDuration(row.position)}`
        : "Not watched yet";
    replace(
      watchedBox,
      row.watched ? h("span", { class: "badge ok", id: "watched-badge", text: "Watched" }) : null,
      h("span", { class: "muted small", id: "watched-text", text }),
      button,
    );
    watchedBox.dataset.watched = String(Boolean(row.watched));
  }

  async function report(position = itemTime(), { final = false } = {}) {
    if (!played || left || !Number.isFinite(position)) return;
    const value = Math.max(0, duration ? Math.min(position, duration) : position);
    try {
      let row;
      if (!direct && plan && plan.session_id && !sessionGone && !final) {
        row = await api(`/api/playback/sessions/${encodeURIComponent(plan.session_id)}/position`, { method: "PUT", body: { position: value, device: PROFILE } });
      } else {
        const body = { position: value, device: PROFILE };
        if (duration) body.duration = duration;
        row = await api(`/api/items/${encodeURIComponent(id)}/position`, { method: "PUT", body });
      }
      showWatched(row);
    } catch (err) {
      if (err.status === 404 && plan && plan.session_id) {
        lostSession("the hub no longer knows it");
        return report(position, { final: true });
      }
      say(`The position could not be saved: ${err.message}`);
    }
  }

  function lostSession(reason) {
    if (direct || !plan) return;
    sessionGone = true;
    say(`The stream ended on the hub (${reason}). Press play to continue from ${formatDuration(itemTime())}.`);
  }

  // ---- element events --------------------------------------------------------------------------
  function updateTime() {
    const now = itemTime();
    const total = duration || (Number.isFinite(media.duration) ? offset + media.duration : null);
    if (total) seek.max = String(total);
    seek.disabled = !total || direct;
    if (!dragging) seek.value = String(Math.min(now, total || now));
    timeText.textContent = total ? `${formatDuration(now)} / ${formatDuration(total)}` : formatDuration(now);
    seek.setAttribute("aria-valuetext", timeText.textContent);
  }

  media.addEventListener("loadedmetadata", () => {
    restarting = false;
    if (direct && Number.isFinite(media.duration)) duration = duration || media.duration;
    updateTime();
  });
  media.addEventListener("timeupdate", updateTime);
  media.addEventListener("play", () => {
    started = true;
    resumeBox.hidden = true;
    if (!direct && sessionGone) startAt(itemTime());
  });
  media.addEventListener("playing", () => {
    played = true;
    fail(null);
    if (status.textContent.startsWith("Starting") || status.textContent.startsWith("The browser blocked")) say(direct ? "" : `Streaming through the hub (session ${plan && plan.session_id}).`);
  });
  media.addEventListener("pause", () => {
    if (!restarting && !media.ended) report();
  });
  media.addEventListener("ended", () => report(duration ? Math.max(itemTime(), duration) : itemTime()));
  media.addEventListener("seeking", () => {
    // A progressive stream has no byte ranges: the element cannot fetch what it has not got.
    if (direct || restarting || !plan) return;
    if (!isBuffered(media.currentTime)) startAt(offset + media.currentTime, { autoplay: !media.paused });
  });
  media.addEventListener("error", async () => {
    if (!media.getAttribute("src")) return;
    const err = media.error;
    let text = `the browser could not play this ${direct ? "file" : "stream"}${err && err.message ? ` (${err.message})` : ""}`;
    if (!direct && plan && plan.session_id) {
      try {
        const session = await api(`/api/playback/sessions/${encodeURIComponent(plan.session_id)}`);
        if (session.error) text = session.error;
      } catch (e) {
        if (e.status === 404) {
          lostSession("it was stopped");
          return;
        }
      }
    }
    fail(text);
  });

  seek.addEventListener("input", () => {
    dragging = true;
    timeText.textContent = `${formatDuration(Number(seek.value))} / ${formatDuration(Number(seek.max))}`;
  });
  seek.addEventListener("change", () => {
    dragging = false;
    seekTo(Number(seek.value));
  });
  startButton.addEventListener("click", () => startAt(0));
  overButton.addEventListener("click", () => startAt(0));
  resumeButton.addEventListener("click", () => startAt(savedRow ? savedRow.position : 0));
  subSelect.addEventListener("change", () => {
    subtitleStream = subSelect.value === "" ? null : subSelect.value;
    setup().catch((err) => {
      if (err.name !== "AbortError") fail(err.message);
    });
  });

  // ---- hub events ------------------------------------------------------------------------------
  const offEvent = hubSocket.onEvent((event) => {
    const data = event.data || {};
    if (event.event_type === "playback_position_updated" && String(data.item_id) === String(id)) {
      showWatched(data);
    } else if (event.event_type === "playback_session_updated") {
      const session = data.session || {};
      if (!plan || !plan.session_id || session.id !== plan.session_id) return;
      if (data.action === "stopped" && !ourStops.has(session.id)) lostSession(data.reason || "stopped");
      else if (session.state === "error" && session.error) fail(session.error);
    }
  });

  const timer = setInterval(() => {
    if (!played || destroyed) return;
    // While paused a session still needs a sign of life, or the hub ends it as idle.
    if (!media.paused || (!direct && plan && plan.session_id && !sessionGone)) report();
  }, REPORT_EVERY_MS);

  /** Leaving: save the position and stop the session (keepalive: works while the page unloads). */
  function leave() {
    if (left) return;
    left = true;
    const position = itemTime();
    if (played && Number.isFinite(position) && !media.ended) {
      const body = { position: Math.max(0, duration ? Math.min(position, duration) : position), device: PROFILE };
      if (duration) body.duration = duration;
      fetch(`/api/items/${encodeURIComponent(id)}/position`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        keepalive: true,
      }).catch(() => {});
    }
    if (plan && plan.session_id && !sessionGone) stopSession(plan.session_id, true);
  }
  window.addEventListener("pagehide", leave);

  // ---- start -------------------------------------------------------------------------------------
  (async () => {
    const position = api(`/api/items/${encodeURIComponent(id)}/position`, { signal: controller.signal }).catch(() => null);
    try {
      await setup();
    } catch (err) {
      if (err.name !== "AbortError") fail(err.message);
    }
    const row = await position;
    if (destroyed || !row) return;
    showWatched(row);
  })();

  /** Offer "Resume from" while nothing was played here (a cast may move the position meanwhile). */
  function showResume(row) {
    const offer = row.position > 0 && !row.watched;
    resumeBox.hidden = !offer;
    if (!offer) return;
    resumeText.textContent = `You stopped at ${formatDuration(row.position)}${row.duration ? ` of ${formatDuration(row.duration)}` : ""}.`;
    resumeButton.querySelector("span").textContent = `Resume from ${formatDuration(row.position)}`;
  }

  /** Where playing elsewhere should start: here's position once played, else the resume point. */
  function startPosition() {
    if (played) return itemTime();
    return savedRow && !savedRow.watched ? Number(savedRow.position) || 0 : 0;
  }

  return {
    element,
    itemTime,
    startPosition,
    pause() {
      if (!media.paused) media.pause();
    },
    destroy() {
      if (destroyed) return;
      leave();
      destroyed = true;
      controller.abort();
      clearInterval(timer);
      offEvent();
      window.removeEventListener("pagehide", leave);
      clearSource();
    },
  };
}
