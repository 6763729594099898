// "Play on": the renderers the hub can cast to (DLNA renderers, Chromecasts), casting the item
// of the page to one, and a remote for what it plays: state, position, pause / resume / stop /
// seek, and the device's errors (unavailable, refused) in words.
//
// Renderers: GET /api/casting/renderers, then `cast_state_changed` events (action "added",
// "updated", "removed" or "state"; the renderer's id, name, host, protocol, device_profile and its
// cast's fields in one flat object). Casting: POST /api/casting/{id}/play; control:
// POST /api/casting/{id}/control {action, position}.
import { api } from "./api.js";
import { formatDuration, h, replace } from "./dom.js";
import { mediaIcon } from "./player.js";
import { hubSocket } from "./ws.js";

/** Cast states (core/casting/manager.py CastSession.state) → [label, badge class]. */
export const CAST_STATES = {
  idle: ["Idle", "muted"],
  buffering: ["Loading", "info"],
  playing: ["Playing", "ok"],
  paused: ["Paused", "warn"],
  stopped: ["Stopped", "muted"],
  finished: ["Finished", "muted"],
  unavailable: ["Unavailable", "bad"],
};
export const ACTIVE_CAST = new Set(["buffering", "playing", "paused"]);
export const PROTOCOLS = { dlna: "DLNA", googlecast: "Chromecast" };

/** The renderer (as the list endpoint shapes it) in a cast_state_changed event's flat data. */
export function rendererFromEvent(data) {
  const { action, id, name, host, protocol, device_profile: profile, ...cast } = data || {};
  return { id: id ?? cast.renderer_id, name, host, protocol, device_profile: profile, cast, action };
}

/** Merge an event's renderer into the one already known (an event may lack the identity). */
export function mergeRenderer(known, incoming) {
  const merged = { ...(known || {}) };
  for (const key of ["id", "name", "host", "protocol", "device_profile"]) {
    if (incoming[key] !== undefined && incoming[key] !== null) merged[key] = incoming[key];
  }
  merged.cast = { ...((known && known.cast) || {}), ...(incoming.cast || {}) };
  return merged;
}

/** "Chromecast · 192.168.1.20" */
export function rendererMeta(renderer) {
  return [PROTOCOLS[renderer.protocol] || renderer.protocol, renderer.host].filter(Boolean).join(" · ");
}

export function castBadge(state, attrs = {}) {
  const [label, cls] = CAST_STATES[state] || [state || "—", "muted"];
  return h("span", { class: `badge ${cls}`, text: label, dataset: { state: state || "" }, ...attrs });
}

/**
 * The "Play on" picker for `item`. `position()` gives the item time to start the cast at;
 * `onCast()` runs once a device accepted the item (the page pauses its own player).
 * Returns {button, panel, remote, destroy()}: the toggle button, the device list and the remote.
 */
export function castPicker(item, { position = () => 0, onCast = () => {} } = {}) {
  const count = h("span", { class: "tab-count", id: "cast-count", text: "0" });
  const button = h(
    "button",
    { type: "button", class: "btn small", id: "cast-open", "aria-expanded": "false", "aria-controls": "cast-panel" },
    mediaIcon("cast"),
    h("span", { text: "Play on…" }),
    count,
  );
  const list = h("ul", { class: "cast-list", id: "cast-renderers", "aria-busy": "true" });
  const listError = h("div", { class: "alert", id: "cast-error", role: "alert", hidden: true });
  const panel = h(
    "section",
    { class: "panel cast-panel", id: "cast-panel", "aria-labelledby": "cast-panel-h", hidden: true },
    h("div", { class: "panel-head" }, h("h2", { id: "cast-panel-h" }, mediaIcon("cast"), "Play on another device")),
    listError,
    list,
  );

  // The remote: which device plays this item, and its controls.
  const remoteTitle = h("h2", { id: "cast-remote-h" }, mediaIcon("cast"), h("span", { id: "cast-remote-name" }));
  const remoteState = h("span", { id: "cast-state", role: "status", "aria-live": "polite" });
  const remoteMeta = h("p", { class: "muted small", id: "cast-remote-meta" });
  const seek = h("input", { type: "range", id: "cast-seek", min: "0", max: "0", step: "1", value: "0", "aria-label": "Position on the device", disabled: true });
  const time = h("span", { class: "player-time", id: "cast-time" });
  const pauseBtn = h("button", { type: "button", class: "btn small", id: "cast-pause" }, mediaIcon("pause"), h("span", { text: "Pause" }));
  const resumeBtn = h("button", { type: "button", class: "btn small", id: "cast-resume" }, mediaIcon("play"), h("span", { text: "Resume" }));
  const stopBtn = h("button", { type: "button", class: "btn small", id: "cast-stop" }, mediaIcon("stop"), h("span", { text: "Stop" }));
  const remoteError = h("div", { class: "alert", id: "cast-remote-error", role: "alert", hidden: true });
  const remote = h(
    "section",
    { class: "panel cast-remote", id: "cast-remote", "aria-labelledby": "cast-remote-h", hidden: true },
    h("div", { class: "panel-head" }, remoteTitle, remoteState),
    remoteMeta,
    h("div", { class: "player-seek" }, seek, time),
    h("div", { class: "cast-controls" }, pauseBtn, resumeBtn, stopBtn),
    remoteError,
  );

  /** id → renderer {id, name, host, protocol, device_profile, cast} */
  const renderers = new Map();
  let remoteId = null;
  let departed = null; // the remote's renderer after it left the network
  let dragging = false;
  let controller = null;

  function showError(box, text) {
    box.hidden = !text;
    replace(box, text ? [h("strong", { text: "Casting failed: " }), h("span", { text })] : []);
  }

  function drawList() {
    count.textContent = String(renderers.size);
    list.setAttribute("aria-busy", "false");
    if (!renderers.size) {
      replace(
        list,
        h(
          "li",
          { class: "empty cast-empty" },
          h("p", { text: "No TVs or speakers found yet." }),
          h("p", { class: "small", text: "DLNA renderers and Chromecasts on this network appear here by themselves once the dlna or googlecast plugin finds them." }),
        ),
      );
      return;
    }
    const sorted = [...renderers.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    replace(list, sorted.map(rendererRow));
  }

  function rendererRow(renderer) {
    const cast = renderer.cast || {};
    const playing = ACTIVE_CAST.has(cast.state) && cast.title ? ` — ${cast.title}` : "";
    const go = h("button", { type: "button", class: "btn small primary", dataset: { action: "cast" } }, mediaIcon("play"), h("span", { text: "Play here" }));
    go.addEventListener("click", async () => {
      go.disabled = true;
      go.classList.add("busy");
      try {
        await castTo(renderer.id);
      } finally {
        go.disabled = false;
        go.classList.remove("busy");
      }
    });
    return h(
      "li",
      { class: "cast-row", dataset: { rendererId: renderer.id, state: cast.state || "" } },
      h(
        "div",
        { class: "cast-who" },
        h("strong", { class: "cast-name", text: renderer.name || renderer.id }),
        h("span", { class: "muted small", text: rendererMeta(renderer) }),
      ),
      h("span", { class: "cast-now small" }, castBadge(cast.state), h("span", { class: "muted", text: playing })),
      go,
    );
  }

  async function castTo(id) {
    const renderer = renderers.get(id);
    const name = (renderer && renderer.name) || id;
    showError(listError, null);
    const at = Math.max(0, Number(position()) || 0);
    const body = { item_id: Number(item.id) };
    if (at >= 1) body.start = Math.round(at * 10) / 10;
    try {
      const cast = await api(`/api/casting/${encodeURIComponent(id)}/play`, { method: "POST", body });
      renderers.set(id, mergeRenderer(renderers.get(id), { cast }));
      remoteId = id;
      onCast();
      drawList();
      drawRemote();
    } catch (err) {
      showError(listError, `${name} could not play “${item.title || "this item"}”: ${err.message}`);
    }
  }

  /** The renderer the remote shows: the one we cast to, else one already playing this item. */
  function remoteRenderer() {
    if (remoteId && renderers.has(remoteId)) return renderers.get(remoteId);
    if (remoteId && departed && departed.id === remoteId) return departed;
    for (const r of renderers.values()) {
      if (r.cast && String(r.cast.item_id) === String(item.id) && ACTIVE_CAST.has(r.cast.state)) {
        remoteId = r.id;
        return r;
      }
    }
    return null;
  }

  function drawRemote() {
    const renderer = remoteRenderer();
    if (!renderer) {
      remote.hidden = true;
      return;
    }
    const cast = renderer.cast || {};
    const active = ACTIVE_CAST.has(cast.state);
    remote.hidden = false;
    remote.dataset.state = cast.state || "";
    remote.dataset.rendererId = renderer.id;
    replace(remoteTitle.querySelector("#cast-remote-name"), `On ${renderer.name || renderer.id}`);
    replace(remoteState, castBadge(cast.state));
    const method = { direct_play: "direct play", direct_stream: "remuxed stream", transcode: "transcoded stream" }[cast.method];
    remoteMeta.textContent = [rendererMeta(renderer), cast.title, method].filter(Boolean).join(" · ");
    const total = Number(cast.duration) || 0;
    const pos = Number(cast.position) || 0;
    seek.max = String(total || 0);
    seek.disabled = !active || !total;
    if (!dragging) seek.value = String(Math.min(pos, total || pos));
    time.textContent = cast.position === null || cast.position === undefined ? "" : total ? `${formatDuration(pos)} / ${formatDuration(total)}` : formatDuration(pos);
    seek.setAttribute("aria-valuetext", time.textContent || "unknown");
    pauseBtn.hidden = cast.state === "paused";
    pauseBtn.disabled = !active;
    resumeBtn.hidden = cast.state !== "paused";
    stopBtn.disabled = !active;
    let problem = cast.error || null;
    if (cast.state === "unavailable") problem = `${renderer.name || renderer.id} is unavailable${cast.error ? `: ${cast.error}` : " (it left the network or is switched off)"}.`;
    showError(remoteError, problem);
  }

  async function control(action, extra = {}) {
    if (!remoteId) return;
    const id = remoteId;
    try {
      const cast = await api(`/api/casting/${encodeURIComponent(id)}/control`, { method: "POST", body: { action, ...extra } });
      renderers.set(id, mergeRenderer(renderers.get(id), { cast }));
      drawRemote();
      drawList();
    } catch (err) {
      showError(remoteError, err.message);
    }
  }

  pauseBtn.addEventListener("click", () => control("pause"));
  resumeBtn.addEventListener("click", () => control("resume"));
  stopBtn.addEventListener("click", () => control("stop"));
  seek.addEventListener("input", () => {
    dragging = true;
    time.textContent = `${formatDuration(Number(seek.value))} / ${formatDuration(Number(seek.max))}`;
  });
  seek.addEventListener("change", () => {
    dragging = false;
    control("seek", { position: Number(seek.value) });
  });
  button.addEventListener("click", () => {
    const open = panel.hidden;
    panel.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) load();
  });

  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const data = await api("/api/casting/renderers", { signal: controller.signal });
      renderers.clear();
      for (const r of data.renderers || []) renderers.set(r.id, r);
      showError(listError, null);
      drawList();
      drawRemote();
    } catch (err) {
      if (err.name === "AbortError") return;
      list.setAttribute("aria-busy", "false");
      showError(listError, `the list of devices could not be loaded: ${err.message}`);
    }
  }

  const offEvent = hubSocket.onEvent((event) => {
    if (event.event_type !== "cast_state_changed") return;
    const incoming = rendererFromEvent(event.data);
    if (!incoming.id) return;
    if (incoming.action === "removed") {
      const gone = renderers.get(incoming.id);
      renderers.delete(incoming.id);
      if (remoteId === incoming.id) {
        // The remote stays up to say what happened.
        departed = mergeRenderer(gone, incoming);
        departed.cast.state = "unavailable";
        departed.cast.error = departed.cast.error || "it left the network";
      }
      drawList();
      drawRemote();
      return;
    }
    renderers.set(incoming.id, mergeRenderer(renderers.get(incoming.id), incoming));
    drawList();
    drawRemote();
  });
  const offStatus = hubSocket.onStatus((status) => {
    if (status === "connected") load();
  });
  load();

  return {
    button,
    panel,
    remote,
    destroy() {
      offEvent();
      offStatus();
      if (controller) controller.abort();
    },
  };
}
