// Live event feed: every hub event since the dashboard opened, newest first, with a type filter
// and pause.
import { clearEvents, onLoggedEvent, recentEvents } from "./eventlog.js";
import { formatTime, h, replace } from "./dom.js";
import { icon } from "./icons.js";

const SHOWN = 200;

export function render(main) {
  const filter = h("input", { type: "search", id: "event-filter", placeholder: "Filter by event type…", autocomplete: "off" });
  const pause = h("button", { type: "button", class: "btn", "aria-pressed": "false" }, "Pause");
  const clear = h("button", { type: "button", class: "btn" }, "Clear");
  const feed = h("ol", { class: "feed", id: "event-feed", "aria-live": "polite", "aria-relevant": "additions" });
  main.append(
    h("header", { class: "page-head" }, h("div", {}, h("h1", { text: "Events" }), h("p", { class: "muted page-sub", text: "Everything the hub announces, live, since this page was opened." }))),
    h(
      "form",
      { class: "toolbar", role: "search", onsubmit: (e) => e.preventDefault() },
      h("label", { class: "search-field" }, icon("search"), h("span", { class: "sr-only", text: "Filter events" }), filter),
      pause,
      clear,
    ),
    feed,
  );

  let paused = false;
  const matches = (e) => !filter.value.trim() || e.event_type.includes(filter.value.trim());
  const draw = () => {
    const shown = recentEvents().filter(matches).slice(0, SHOWN);
    if (!shown.length) replace(feed, h("li", { class: "empty", text: "Waiting for events…" }));
    else replace(feed, shown.map(eventRow));
  };

  filter.addEventListener("input", draw);
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume" : "Pause";
    if (!paused) draw();
  });
  clear.addEventListener("click", () => {
    clearEvents();
    draw();
  });
  const off = onLoggedEvent((event) => {
    if (paused || !matches(event)) return;
    const empty = feed.querySelector(".empty");
    if (empty) empty.remove();
    feed.prepend(eventRow(event));
    while (feed.children.length > SHOWN) feed.lastElementChild.remove();
  });
  draw();
  return off;
}

function eventRow(event) {
  const data = event.data || {};
  const keys = Object.keys(data);
  return h(
    "li",
    { class: "feed-row", dataset: { eventType: event.event_type } },
    h("div", { class: "feed-head" }, h("span", { class: `etype etype-${event.event_type.split("_")[0]}`, text: event.event_type }), h("time", { class: "muted", text: formatTime(event.time_fired) })),
    keys.length ? h("details", {}, h("summary", { text: summarize(data) }), h("pre", { class: "json", text: JSON.stringify(data, null, 2) })) : null,
  );
}

function summarize(data) {
  const item = data.item || {};
  const pick = item.title ? `${item.title} — ${item.path || ""}` : data.path || data.entity_id || data.name || data.plugin || "";
  const text = pick ? String(pick) : Object.keys(data).join(", ");
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}
