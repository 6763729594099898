// Guide: the lineup's channels down, time across (30-minute columns), each programme as wide as it
// lasts, a line at "now". Earlier / Now / Later move the window; clicking a programme shows its
// details with "Record once", "Record series" and (while it airs) "Watch live"; clicking a channel
// watches it live (#/live/<number>). Programmes a rule will record carry a red dot, those a rule
// wants but cannot record (a conflict) a warning with the scheduler's reason.
//
// Route: #/guide[?start=<UTC epoch seconds>]
// Events: dvr_guide_updated, dvr_lineup_updated, dvr_schedule_updated (reload, debounced).
import { api, showError } from "./api.js";
import { debounce, formatEpisode, h, replace } from "./dom.js";
import { icon } from "./icons.js";
import { mediaIcon } from "./player.js";
import { hubSocket } from "./ws.js";
import { emptyState, pageHead } from "./acquisition.js";

/** Width of one hour of the grid, in CSS pixels (a 30-minute column is half of it). */
export const HOUR_PX = 240;
const SLOT = 1800; // seconds per column
const SPAN = 6 * 3600; // seconds shown at once
const STEP = 3 * 3600; // seconds Earlier/Later move

/** "20:00" in the browser's time zone. */
export function clock(epoch) {
  return new Date(epoch * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** "Tue 12 Mar" in the browser's time zone. */
export function day(epoch) {
  return new Date(epoch * 1000).toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" });
}

/** "20:00–21:00" (with the day when it is not today). */
export function slotText(start, stop) {
  const today = new Date().toDateString() === new Date(start * 1000).toDateString();
  return `${today ? "" : `${day(start)} `}${clock(start)}–${clock(stop)}`;
}

function floorSlot(epoch) {
  return Math.floor(epoch / SLOT) * SLOT;
}

export function render(main, { query }) {
  const now = () => Date.now() / 1000;
  let start = Number(query.get("start")) || floorSlot(now()) - SLOT;
  const sub = h("p", { class: "muted page-sub", id: "guide-sub", role: "status", "aria-live": "polite", text: "Loading…" });
  const earlier = h("button", { type: "button", class: "btn small", id: "guide-earlier" }, icon("back"), h("span", { text: "Earlier" }));
  const nowButton = h("button", { type: "button", class: "btn small", id: "guide-now" }, h("span", { text: "Now" }));
  const later = h("button", { type: "button", class: "btn small", id: "guide-later" }, h("span", { text: "Later" }), h("span", { "aria-hidden": "true", text: "›" }));
  const box = h("div", { id: "guide-box", "aria-busy": "true" });
  const details = h("section", { class: "panel guide-details", id: "guide-details", "aria-live": "polite", hidden: true });
  main.append(pageHead("Guide", sub, earlier, nowButton, later), details, box);

  let data = null;
  let selected = null; // {programme, channel}
  let controller = null;
  let nowLine = null;

  function go(newStart) {
    start = newStart;
    const hash = `#/guide?start=${Math.round(start)}`;
    if (window.location.hash !== hash) history.replaceState(null, "", hash);
    load();
  }
  earlier.addEventListener("click", () => go(start - STEP));
  later.addEventListener("click", () => go(start + STEP));
  nowButton.addEventListener("click", () => go(floorSlot(now()) - SLOT));

  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    box.setAttribute("aria-busy", "true");
    try {
      data = await api("/api/dvr/guide", { params: { start, stop: start + SPAN }, signal: controller.signal });
      draw();
      if (selected) {
        const channel = data.channels.find((c) => c.number === selected.channel.number);
        const programme = channel && channel.programmes.find((p) => p.id === selected.programme.id);
        if (programme) showDetails(programme, channel);
      }
    } catch (err) {
      if (err.name !== "AbortError") showError(err);
    } finally {
      box.setAttribute("aria-busy", "false");
    }
  }

  const x = (epoch) => ((epoch - start) / 3600) * HOUR_PX;

  function draw() {
    const channels = data.channels || [];
    const stop = start + SPAN;
    sub.textContent = `${day(start)} ${clock(start)} – ${day(stop) === day(start) ? "" : `${day(stop)} `}${clock(stop)} · ${channels.length} channel${channels.length === 1 ? "" : "s"}`;
    if (!channels.length) {
      replace(box, emptyState("grid", "No channels yet: add a tuner (hdhomerun or iptv plugin) and its lineup appears here."));
      return;
    }
    const width = (SPAN / 3600) * HOUR_PX;
    const head = h("div", { class: "guide-times", style: `width:${width}px` });
    for (let t = start; t < stop; t += SLOT) {
      head.append(h("div", { class: "guide-time", style: `left:${x(t)}px;width:${HOUR_PX / 2}px`, text: clock(t) }));
    }
    const rows = channels.map((channel) => {
      const cells = (channel.programmes || []).map((p) => programmeCell(p, channel));
      const track = h("div", { class: "guide-track", style: `width:${width}px` }, cells);
      if (!cells.length) track.append(h("div", { class: "guide-empty muted small", text: channel.guide_channel_id ? "No programmes in this window" : "No guide for this channel" }));
      return h(
        "div",
        { class: "guide-row", role: "row", dataset: { channel: channel.number } },
        h(
          "a",
          { class: "guide-channel", role: "rowheader", href: `#/live/${encodeURIComponent(channel.number)}`, title: `Watch ${channel.name} live` },
          channel.logo ? h("img", { class: "guide-logo", src: channel.logo, alt: "", loading: "lazy" }) : null,
          h("span", { class: "guide-number", text: channel.number }),
          h("span", { class: "guide-name", text: channel.name }),
          channel.radio ? h("span", { class: "badge muted", text: "Radio" }) : channel.hd ? h("span", { class: "badge muted", text: "HD" }) : null,
        ),
        track,
      );
    });
    nowLine = h("div", { class: "guide-now", id: "guide-now-line", "aria-hidden": "true" });
    const grid = h(
      "div",
      { class: "guide-grid", id: "guide-grid", role: "grid", "aria-label": "Programme guide", style: `--guide-width:${width}px` },
      h("div", { class: "guide-row guide-head", role: "row" }, h("div", { class: "guide-channel guide-corner", text: day(start) }), head),
      rows,
      nowLine,
    );
    replace(box, h("div", { class: "guide-scroll", id: "guide-scroll" }, grid));
    placeNowLine();
  }

  function placeNowLine() {
    if (!nowLine) return;
    const t = now();
    nowLine.hidden = t < start || t > start + SPAN;
    nowLine.style.left = `calc(var(--guide-channel-width) + ${x(t)}px)`;
  }

  function programmeCell(p, channel) {
    const left = Math.max(0, x(p.start));
    const right = Math.min(x(start + SPAN), x(p.stop));
    const airing = p.start <= now() && now() < p.stop;
    const classes = ["guide-prog"];
    if (airing) classes.push("airing");
    if (p.scheduled) classes.push("scheduled");
    if (p.conflict) classes.push("conflict");
    if (selected && selected.programme.id === p.id) classes.push("selected");
    const code = formatEpisode(p.season, p.episode);
    return h(
      "button",
      {
        type: "button",
        class: classes.join(" "),
        style: `left:${left}px;width:${Math.max(2, right - left - 2)}px`,
        title: `${p.title}${p.subtitle ? ` — ${p.subtitle}` : ""} (${slotText(p.start, p.stop)})${p.conflict ? `\nNot recorded: ${p.conflict}` : ""}`,
        dataset: { programmeId: String(p.id), title: p.title },
        onclick: () => showDetails(p, channel),
      },
      h(
        "span",
        { class: "guide-prog-title" },
        p.scheduled ? h("span", { class: "rec-dot", title: "Will be recorded", "aria-label": "will be recorded" }) : null,
        p.conflict ? icon("warning") : null,
        p.title,
      ),
      h(
        "span",
        { class: "guide-prog-meta" },
        h("span", { text: `${clock(p.start)}–${clock(p.stop)}` }),
        code ? h("span", { text: code }) : null,
        p.new ? h("span", { class: "badge ok", text: "New" }) : p.previously_shown ? h("span", { class: "badge muted", text: "Repeat" }) : null,
      ),
    );
  }

  function showDetails(p, channel) {
    selected = { programme: p, channel };
    for (const el of box.querySelectorAll(".guide-prog.selected")) el.classList.remove("selected");
    const cell = box.querySelector(`.guide-prog[data-programme-id="${CSS.escape(String(p.id))}"]`);
    if (cell) cell.classList.add("selected");
    const airing = p.start <= now() && now() < p.stop;
    const code = formatEpisode(p.season, p.episode);
    const note = h("div", { class: "note", id: "guide-record-note", role: "status", hidden: true });
    const newOnly = h("input", { type: "checkbox", id: "guide-new-only" });
    const recordOnce = h("button", { type: "button", class: "btn primary small", id: "guide-record-once" }, h("span", { class: "rec-dot" }), h("span", { text: "Record once" }));
    const recordSeries = h("button", { type: "button", class: "btn small", id: "guide-record-series" }, h("span", { class: "rec-dot" }), h("span", { text: "Record series" }));
    recordOnce.disabled = p.stop <= now();
    recordOnce.addEventListener("click", () =>
      addRule(recordOnce, { kind: "once", programme_id: p.id, channel: channel.number, start: p.start, stop: p.stop, title: p.title }, `“${p.title}” will be recorded on ${channel.number}.`),
    );
    recordSeries.addEventListener("click", () =>
      addRule(recordSeries, { kind: "series", title: p.title, new_only: newOnly.checked }, `Every ${newOnly.checked ? "new " : ""}airing of “${p.title}” will be recorded, on any channel.`),
    );
    async function addRule(button, body, done) {
      button.disabled = true;
      try {
        const rule = await api("/api/dvr/rules", { method: "POST", body });
        note.hidden = false;
        note.classList.add("ok-note");
        replace(note, icon("check"), h("span", { text: `${done} ` }), h("a", { href: "#/dvr", text: `Rule ${rule.id} on the DVR page` }));
      } catch (err) {
        showError(err);
      } finally {
        button.disabled = false;
      }
    }
    replace(
      details,
      h(
        "div",
        { class: "panel-head" },
        h("h2", { id: "guide-details-title" }, p.title, p.subtitle ? h("span", { class: "muted", text: ` — ${p.subtitle}` }) : null),
        h("button", { type: "button", class: "btn small", "aria-label": "Close the details", onclick: () => { details.hidden = true; selected = null; } }, icon("close")),
      ),
      h(
        "p",
        { class: "muted small guide-facts" },
        [`${channel.number} ${channel.name}`, slotText(p.start, p.stop), code, p.year ? String(p.year) : "", p.original_air_date ? `first aired ${p.original_air_date}` : ""].filter(Boolean).join(" · "),
        " ",
        p.new ? h("span", { class: "badge ok", text: "New" }) : p.previously_shown ? h("span", { class: "badge muted", text: "Repeat" }) : null,
        p.scheduled ? h("span", { class: "badge bad", text: "Will be recorded" }) : null,
      ),
      p.conflict ? h("div", { class: "alert", role: "note", id: "guide-conflict" }, icon("warning"), h("span", { text: `Not recorded: ${p.conflict}` })) : null,
      p.description ? h("p", { class: "guide-description", text: p.description }) : null,
      (p.categories || []).length ? h("p", { class: "muted small", text: p.categories.join(", ") }) : null,
      h(
        "div",
        { class: "toolbar" },
        recordOnce,
        recordSeries,
        h("label", { class: "check small" }, newOnly, h("span", { text: "new episodes only" })),
        airing ? h("a", { class: "btn small", id: "guide-watch", href: `#/live/${encodeURIComponent(channel.number)}` }, mediaIcon("play"), h("span", { text: "Watch live" })) : null,
      ),
      note,
    );
    details.hidden = false;
  }

  const reload = debounce(load, 400);
  const offEvent = hubSocket.onEvent((event) => {
    if (["dvr_guide_updated", "dvr_lineup_updated", "dvr_schedule_updated"].includes(event.event_type)) reload();
  });
  const offStatus = hubSocket.onStatus((status) => {
    if (status === "connected") reload();
  });
  const timer = setInterval(placeNowLine, 30000);
  load();
  return () => {
    offEvent();
    offStatus();
    clearInterval(timer);
    reload.cancel();
    if (controller) controller.abort();
  };
}
