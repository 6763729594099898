// Activity: what is playing right now — the hub's playback sessions (streams with an ffmpeg
// behind them), what each cast device plays, and "continue watching".
//
// Live from `playback_session_updated` ({action: started|updated|stopped, session, reason}),
// `cast_state_changed` and `playback_position_updated` events.
//
// Route: #/activity
import { api, showError } from "./api.js";
import { debounce, formatAgo, formatDuration, formatEpisode, h, replace } from "./dom.js";
import { badge, confirmButton, dataTable, emptyState, pageHead, plural, progressBar } from "./acquisition.js";
import { ACTIVE_CAST, castBadge, mergeRenderer, rendererFromEvent, rendererMeta } from "./cast.js";
import { METHODS, mediaIcon } from "./player.js";
import { hubSocket } from "./ws.js";

const SESSION_STATES = {
  starting: ["Starting", "info"],
  streaming: ["Streaming", "ok"],
  idle: ["Idle", "muted"],
  error: ["Error", "bad"],
  stopped: ["Stopped", "muted"],
};

export function render(main) {
  const summary = h("p", { class: "muted page-sub", id: "activity-summary" });
  const sessionsBox = h("div", { id: "activity-sessions", "aria-busy": "true" });
  const castsBox = h("div", { id: "activity-casts", "aria-busy": "true" });
  const continueBox = h("div", { id: "activity-continue", "aria-busy": "true" });
  main.append(
    pageHead("Activity", summary),
    h("section", { "aria-labelledby": "sessions-h" }, h("h2", { class: "section-title first", id: "sessions-h", text: "Streams" }), sessionsBox),
    h("section", { "aria-labelledby": "casts-h" }, h("h2", { class: "section-title", id: "casts-h", text: "Cast devices" }), castsBox),
    h("section", { "aria-labelledby": "continue-h" }, h("h2", { class: "section-title", id: "continue-h", text: "Continue watching" }), continueBox),
  );

  const sessions = new Map();
  const renderers = new Map();

  function drawSummary() {
    const casting = [...renderers.values()].filter((r) => ACTIVE_CAST.has((r.cast || {}).state)).length;
    summary.textContent = `${plural(sessions.size, "stream")} · ${casting} of ${plural(renderers.size, "device")} casting`;
  }

  // ---- sessions ------------------------------------------------------------------------------------
  function drawSessions() {
    sessionsBox.setAttribute("aria-busy", "false");
    drawSummary();
    if (!sessions.size) {
      replace(sessionsBox, emptyState("video", "No streams. Direct play needs none; a remux or transcode for a browser or a TV shows up here while it plays."));
      return;
    }
    const list = [...sessions.values()].sort((a, b) => (a.created_at || 0) - (b.created_at || 0));
    replace(
      sessionsBox,
      dataTable(["Item", "Client", "How", "State", { label: "Position", num: true }, "Started", ""], list.map(sessionRow), { id: "sessions-table" }),
    );
  }

  function sessionRow(s) {
    const [label, cls] = METHODS[s.method] || [s.method, "muted"];
    const stop = confirmButton({
      label: "Stop",
      confirmLabel: "Stop stream?",
      iconName: "close",
      dataset: { action: "stop" },
      title: "End the stream and its ffmpeg",
      action: async () => {
        try {
          await api(`/api/playback/sessions/${encodeURIComponent(s.id)}`, { method: "DELETE" });
          sessions.delete(s.id);
          drawSessions();
        } catch (err) {
          showError(err);
        }
      },
    });
    const reasons = (s.decision && s.decision.reasons) || [];
    return h(
      "tr",
      { dataset: { sessionId: s.id, state: s.state || "" } },
      h("td", { class: "release" }, h("a", { href: `#/item/${s.item_id}`, text: s.title || `Item ${s.item_id}` }), h("div", { class: "muted small mono", text: s.id })),
      h("td", { class: "small", text: s.client || "—" }),
      h("td", {}, h("span", { class: `badge ${cls}`, text: label }), h("div", { class: "muted small", text: `${s.profile} · ${s.protocol}` }), reasons.length ? h("div", { class: "muted small", text: reasons.join("; ") }) : null),
      h("td", {}, badge(SESSION_STATES, s.state), s.error ? h("div", { class: "bad-text", text: s.error }) : null, s.pids && s.pids.length ? h("div", { class: "muted small", text: `ffmpeg ${s.pids.join(", ")}` }) : null),
      h("td", { class: "num", text: s.duration ? `${formatDuration(s.position)} / ${formatDuration(s.duration)}` : formatDuration(s.position) }),
      h("td", { class: "muted nowrap", text: formatAgo(s.created_at) }),
      h("td", { class: "actions" }, stop),
    );
  }

  async function loadSessions() {
    try {
      const data = await api("/api/playback/sessions");
      sessions.clear();
      for (const s of data.sessions || []) sessions.set(s.id, s);
      drawSessions();
    } catch (err) {
      showError(err);
    }
  }

  // ---- casts ------------------------------------------------------------------------------------------
  function drawCasts() {
    castsBox.setAttribute("aria-busy", "false");
    drawSummary();
    if (!renderers.size) {
      replace(castsBox, emptyState("devices", "No cast devices found. DLNA renderers and Chromecasts appear here once the dlna or googlecast plugin finds them."));
      return;
    }
    const list = [...renderers.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    replace(castsBox, dataTable(["Device", "State", "Playing", { label: "Position", num: true }, ""], list.map(castRow), { id: "casts-table" }));
  }

  function castRow(r) {
    const cast = r.cast || {};
    const active = ACTIVE_CAST.has(cast.state);
    const control = (action, label, iconName) => {
      const b = h("button", { type: "button", class: "btn small", dataset: { action } }, mediaIcon(iconName), h("span", { text: label }));
      b.addEventListener("click", async () => {
        b.disabled = true;
        try {
          const status = await api(`/api/casting/${encodeURIComponent(r.id)}/control`, { method: "POST", body: { action } });
          renderers.set(r.id, mergeRenderer(renderers.get(r.id), { cast: status }));
          drawCasts();
        } catch (err) {
          showError(err);
          b.disabled = false;
        }
      });
      return b;
    };
    return h(
      "tr",
      { dataset: { rendererId: r.id, state: cast.state || "" } },
      h("td", {}, h("strong", { text: r.name || r.id }), h("div", { class: "muted small", text: rendererMeta(r) })),
      h("td", {}, castBadge(cast.state), cast.error ? h("div", { class: "bad-text", text: cast.error }) : null),
      h(
        "td",
        { class: active ? null : "muted" },
        cast.item_id ? [active ? null : "Last: ", h("a", { href: `#/item/${cast.item_id}`, text: cast.title || `Item ${cast.item_id}` })] : "—",
      ),
      h("td", { class: "num", text: cast.position === null || cast.position === undefined ? "" : cast.duration ? `${formatDuration(cast.position)} / ${formatDuration(cast.duration)}` : formatDuration(cast.position) }),
      h("td", { class: "actions" }, active ? [cast.state === "paused" ? control("resume", "Resume", "play") : control("pause", "Pause", "pause"), control("stop", "Stop", "stop")] : null),
    );
  }

  async function loadCasts() {
    try {
      const data = await api("/api/casting/renderers");
      renderers.clear();
      for (const r of data.renderers || []) renderers.set(r.id, r);
      drawCasts();
    } catch (err) {
      showError(err);
    }
  }

  // ---- continue watching ------------------------------------------------------------------------------
  async function loadContinue() {
    try {
      const data = await api("/api/playback/continue", { params: { limit: 12 } });
      const items = data.items || [];
      continueBox.setAttribute("aria-busy", "false");
      if (!items.length) {
        replace(continueBox, emptyState("video", "Nothing half-watched. Items you stop part-way show up here."));
        return;
      }
      replace(
        continueBox,
        h(
          "ul",
          { class: "continue-list" },
          items.map((row) => {
            const it = row.item || {};
            const name = [it.title, formatEpisode(it.season, it.episode)].filter(Boolean).join(" ") || `Item ${row.item_id}`;
            return h(
              "li",
              { class: "continue-row", dataset: { itemId: String(row.item_id) } },
              h("a", { href: `#/item/${row.item_id}`, class: "row-link" }, mediaIcon("play"), h("span", { text: name })),
              progressBar(row.progress || 0, `Watched part of ${name}`),
              h("span", { class: "muted small", text: `${formatDuration(row.position)}${row.duration ? ` of ${formatDuration(row.duration)}` : ""} · ${formatAgo(row.updated_at)}` }),
            );
          }),
        ),
      );
    } catch (err) {
      showError(err);
    }
  }

  const refreshContinue = debounce(loadContinue, 1000);
  const offEvent = hubSocket.onEvent((event) => {
    const data = event.data || {};
    if (event.event_type === "playback_session_updated" && data.session) {
      if (data.action === "stopped") sessions.delete(data.session.id);
      else sessions.set(data.session.id, data.session);
      drawSessions();
    } else if (event.event_type === "cast_state_changed") {
      const incoming = rendererFromEvent(data);
      if (!incoming.id) return;
      if (incoming.action === "removed") renderers.delete(incoming.id);
      else renderers.set(incoming.id, mergeRenderer(renderers.get(incoming.id), incoming));
      drawCasts();
    } else if (event.event_type === "playback_position_updated") {
      refreshContinue();
    }
  });
  const offStatus = hubSocket.onStatus((status) => {
    if (status === "connected") {
      loadSessions();
      loadCasts();
    }
  });
  loadSessions();
  loadCasts();
  loadContinue();
  return () => {
    offEvent();
    offStatus();
    refreshContinue.cancel();
  };
}
