// Live TV: a <video> (an <audio>-like player for radio) on the hub's fragmented-MP4 live stream of one
// channel. Opening the page leases a tuner (POST /api/dvr/live with this tab's client id, so a channel
// change replaces the tab's previous session and frees its tuner); channel up / down walk the lineup;
// leaving the page (another route, closing or reloading the tab) ends the session (DELETE), and
// the hub releases the tuner. When the hub ends the session (a recording needs the tuner, the
// tuner stream dropped, nobody watched) the reason is shown.
//
// Route: #/live/<channel number>
// Events: dvr_live_session_updated (our session's state and reason).
import { api, showError } from "./api.js";
import { formatSize, h, replace } from "./dom.js";
import { icon } from "./icons.js";
import { clientId, mediaIcon } from "./player.js";
import { hubSocket } from "./ws.js";
import { badge, pageHead } from "./acquisition.js";

export const LIVE_STATES = {
  starting: ["Tuning", "info"],
  playing: ["Live", "ok"],
  idle: ["Paused", "warn"],
  ended: ["Ended", "muted"],
};
/** Times the player fetches the stream again after it broke while the session still runs. */
const RETRIES = 3;

export function render(main, { params }) {
  const number = decodeURIComponent(params[0]);
  const client = clientId();
  const stateBox = h("span", { id: "live-state" });
  const sub = h("p", { class: "muted page-sub", id: "live-sub" }, stateBox, " ", h("span", { id: "live-facts" }));
  const down = h("a", { class: "btn small", id: "live-down", href: "#", title: "Previous channel" }, h("span", { "aria-hidden": "true", text: "‹" }), h("span", { text: "Channel down" }));
  const up = h("a", { class: "btn small", id: "live-up", href: "#", title: "Next channel" }, h("span", { text: "Channel up" }), h("span", { "aria-hidden": "true", text: "›" }));
  const stopButton = h("button", { type: "button", class: "btn small", id: "live-stop" }, mediaIcon("stop"), h("span", { text: "Stop" }));
  const channelSelect = h("select", { id: "live-channel", "aria-label": "Channel" });
  const video = h("video", { id: "live-player", controls: true, autoplay: true, playsinline: true, "aria-label": `Live TV, channel ${number}` });
  const unmute = h("button", { type: "button", class: "btn small", id: "live-unmute", hidden: true }, h("span", { text: "Sound is off: click to unmute" }));
  const ended = h("div", { class: "alert", id: "live-ended", role: "alert", hidden: true });
  const status = h("p", { class: "muted small player-status", id: "live-status", role: "status", "aria-live": "polite" });
  const head = pageHead(`Channel ${number}`, sub, down, up, channelSelect, stopButton);
  const title = head.querySelector("h1");
  title.id = "live-title";
  main.append(
    head,
    ended,
    h("div", { class: "player live-player" }, h("div", { class: "player-stage" }, video), h("div", { class: "player-tools" }, unmute, status)),
  );

  let session = null;
  let lineup = [];
  let left = false;
  let retries = 0;

  function say(text) {
    status.textContent = text || "";
  }

  function draw() {
    if (!session) return;
    replace(stateBox, badge(LIVE_STATES, session.state, { dataset: { state: session.state } }));
    title.textContent = `${session.channel} ${session.name || ""}`.trim();
    const facts = [];
    if (session.radio) facts.push("radio");
    if (session.video === "copy") facts.push("H.264 passed through");
    else if (session.video === "h264") facts.push("converted to H.264 for the browser");
    if (session.device_id) facts.push(`tuner ${session.device_id}`);
    if (session.bytes_in) facts.push(`${formatSize(session.bytes_in)} received`);
    if (session.reconnects) facts.push(`${session.reconnects} reconnect${session.reconnects === 1 ? "" : "s"}`);
    main.querySelector("#live-facts").textContent = facts.join(" · ");
    if (session.state === "ended") {
      ended.hidden = false;
      replace(ended, icon("warning"), h("span", {}, h("strong", { text: "Live TV ended: " }), h("span", { id: "live-reason", text: session.reason || "the session ended" })));
      stopVideo();
      stopButton.disabled = true;
    }
  }

  function stopVideo() {
    if (video.getAttribute("src")) {
      video.pause();
      video.removeAttribute("src");
      video.load();
    }
  }

  async function play() {
    try {
      await video.play();
    } catch (err) {
      if (err.name === "NotAllowedError") {
        // No user gesture yet: browsers allow muted autoplay only.
        video.muted = true;
        unmute.hidden = false;
        try {
          await video.play();
        } catch (again) {
          if (again.name !== "AbortError") say(`The browser did not start playback: ${again.message}`);
        }
      } else if (err.name !== "AbortError") {
        say(`The browser did not start playback: ${err.message}`);
      }
    }
  }
  unmute.addEventListener("click", () => {
    video.muted = false;
    unmute.hidden = true;
  });

  async function start() {
    say("Tuning…");
    try {
      session = await api("/api/dvr/live", { method: "POST", body: { channel: number, client } });
    } catch (err) {
      if (left) return;
      ended.hidden = false;
      replace(ended, icon("warning"), h("span", {}, h("strong", { text: `Cannot watch ${number}: ` }), h("span", { id: "live-reason", text: err.message })));
      say("");
      return;
    }
    if (left) {
      stopSession();
      return;
    }
    if (session.radio) video.classList.add("radio");
    video.src = session.url;
    draw();
    say("Waiting for the first pictures…");
    play();
  }

  video.addEventListener("playing", () => say(""));
  video.addEventListener("waiting", () => say("Buffering…"));
  async function recover(what) {
    if (left || !session || session.state === "ended") return;
    try {
      session = await api(`/api/dvr/live/${session.id}`);
    } catch {
      // gone: the event (or nothing) will say why
    }
    draw();
    if (session.state === "ended" || retries >= RETRIES) {
      if (session.state !== "ended") say(`The stream ${what}.`);
      return;
    }
    retries += 1;
    say(`The stream ${what}; reconnecting…`);
    video.src = `${session.url}?retry=${retries}`;
    play();
  }
  video.addEventListener("error", () => {
    if (video.getAttribute("src")) recover("failed");
  });
  video.addEventListener("ended", () => recover("ended"));

  function stopSession() {
    if (!session || session.state === "ended") return;
    const url = `/api/dvr/live/${encodeURIComponent(session.id)}`;
    // keepalive: the request outlives the page when it is closed or reloaded.
    fetch(url, { method: "DELETE", keepalive: true }).catch(() => {});
    session = { ...session, state: "ended", reason: "stopped" };
  }
  stopButton.addEventListener("click", () => {
    stopSession();
    stopVideo();
    draw();
  });

  async function loadLineup() {
    try {
      lineup = (await api("/api/dvr/lineup")).channels || [];
    } catch (err) {
      showError(err);
      return;
    }
    replace(channelSelect, lineup.map((c) => h("option", { value: c.number, selected: c.number === number, text: `${c.number} ${c.name}` })));
    const at = lineup.findIndex((c) => c.number === number);
    const link = (el, offset) => {
      if (!lineup.length) return;
      const next = lineup[((at < 0 ? 0 : at) + offset + lineup.length) % lineup.length];
      el.href = `#/live/${encodeURIComponent(next.number)}`;
      el.title = `${offset > 0 ? "Next" : "Previous"} channel: ${next.number} ${next.name}`;
    };
    link(up, 1);
    link(down, -1);
  }
  channelSelect.addEventListener("change", () => {
    window.location.hash = `#/live/${encodeURIComponent(channelSelect.value)}`;
  });

  const offEvent = hubSocket.onEvent((event) => {
    if (event.event_type !== "dvr_live_session_updated" || !session || !event.data || event.data.id !== session.id) return;
    if (session.state === "ended") return; // we stopped it ourselves
    session = event.data;
    draw();
  });
  const onPageHide = () => stopSession();
  window.addEventListener("pagehide", onPageHide);

  loadLineup();
  start();
  return () => {
    left = true;
    offEvent();
    window.removeEventListener("pagehide", onPageHide);
    stopSession();
    stopVideo();
  };
}
