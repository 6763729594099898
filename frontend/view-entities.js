// Entities: every entity's current state and attributes, updated live from state_changed events.
import { api, showError } from "./api.js";
import { formatAgo, formatTime, formatValue, h, replace } from "./dom.js";
import { icon } from "./icons.js";
import { hubSocket } from "./ws.js";

export function render(main) {
  const filter = h("input", { type: "search", id: "entity-filter", placeholder: "Filter by entity id or state…", autocomplete: "off" });
  const body = h("div", { id: "entities", "aria-busy": "true" });
  main.append(
    h("header", { class: "page-head" }, h("div", {}, h("h1", { text: "Entities" }), h("p", { class: "muted page-sub", text: "The current state of every entity, live." }))),
    h("form", { class: "toolbar", role: "search", onsubmit: (e) => e.preventDefault() }, h("label", { class: "search-field" }, icon("search"), h("span", { class: "sr-only", text: "Filter entities" }), filter)),
    body,
  );

  const entities = new Map();
  const draw = () => renderTable(body, [...entities.values()], filter.value.trim().toLowerCase());

  async function load() {
    try {
      const data = await api("/api/entities");
      entities.clear();
      for (const e of data.entities || []) entities.set(e.entity_id, e);
      draw();
    } catch (err) {
      showError(err);
    } finally {
      body.setAttribute("aria-busy", "false");
    }
  }

  filter.addEventListener("input", draw);
  const off = hubSocket.onEvent((event) => {
    if (event.event_type !== "state_changed") return;
    const { entity_id: id, new_state: next } = event.data || {};
    if (!id) return;
    if (next) entities.set(id, { ...entities.get(id), ...next });
    else entities.delete(id);
    draw();
  });
  load();
  return off;
}

function renderTable(body, entities, needle) {
  const rows = entities
    .filter((e) => !needle || e.entity_id.toLowerCase().includes(needle) || String(e.state).toLowerCase().includes(needle))
    .sort((a, b) => a.entity_id.localeCompare(b.entity_id));
  if (!rows.length) {
    replace(body, h("div", { class: "empty" }, icon("entities", "icon empty-icon"), h("p", { text: entities.length ? "No entity matches the filter." : "No entities yet." })));
    return;
  }
  replace(
    body,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h("thead", {}, h("tr", {}, ["Entity", "State", "Attributes", "Last changed"].map((t) => h("th", { scope: "col", text: t })))),
        h(
          "tbody",
          {},
          rows.map((e) =>
            h(
              "tr",
              { dataset: { entityId: e.entity_id } },
              h("td", { class: "mono", text: e.entity_id }),
              h("td", {}, h("span", { class: "state", text: formatValue(e.state) })),
              h("td", { class: "attrs" }, Object.entries(e.attributes || {}).map(([k, v]) => h("span", { class: "attr" }, h("span", { class: "attr-key", text: k }), " ", formatValue(v)))),
              h("td", { title: formatTime(e.last_changed), text: formatAgo(e.last_changed) }),
            ),
          ),
        ),
      ),
    ),
  );
}
