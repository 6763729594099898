// Devices: everything the hub knows on the network or through plugins, with status and connection.
import { api, showError } from "./api.js";
import { debounce, formatAgo, formatValue, h, replace } from "./dom.js";
import { icon } from "./icons.js";
import { hubSocket } from "./ws.js";

const STATUS_CLASS = { available: "ok", discovered: "info", unavailable: "bad", ignored: "muted" };

export function render(main) {
  const list = h("div", { id: "devices", "aria-busy": "true" });
  main.append(
    h("header", { class: "page-head" }, h("div", {}, h("h1", { text: "Devices" }), h("p", { class: "muted page-sub", text: "Players, TVs, tuners, download clients and services the hub has found or set up." }))),
    list,
  );

  async function load() {
    try {
      const { devices } = await api("/api/devices");
      renderDevices(list, devices || []);
    } catch (err) {
      showError(err);
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }

  const refresh = debounce(load, 400);
  const off = hubSocket.onEvent((e) => {
    if (e.event_type === "device_registry_updated" || e.event_type === "discovery") refresh();
  });
  load();
  return () => {
    off();
    refresh.cancel();
  };
}

function renderDevices(list, devices) {
  if (!devices.length) {
    replace(list, h("div", { class: "empty" }, icon("devices", "icon empty-icon"), h("p", { text: "No devices yet. Devices appear here when discovery finds them or a plugin adds them." })));
    return;
  }
  replace(
    list,
    h(
      "ul",
      { class: "cards" },
      devices.map((d) => {
        const conn = d.connection || {};
        const address = conn.host ? `${conn.host}${conn.port ? `:${conn.port}` : ""}` : "";
        const props = Object.entries(conn.properties || {});
        return h(
          "li",
          { class: "panel device", dataset: { id: String(d.id) } },
          h(
            "div",
            { class: "panel-head" },
            h("h2", { text: d.name || d.unique_id }),
            h("span", { class: `badge ${STATUS_CLASS[d.status] || "muted"}`, text: d.status || "unknown" }),
          ),
          h(
            "dl",
            { class: "dl" },
            pair("Platform", d.platform),
            pair("Maker / model", [d.manufacturer, d.model].filter(Boolean).join(" ")),
            pair("Software", d.sw_version),
            pair("Address", address, "mono"),
            pair("Unique id", d.unique_id, "mono"),
            pair("Seen", d.modified_at ? formatAgo(d.modified_at) : ""),
          ),
          d.entities && d.entities.length
            ? h("p", { class: "chips-line" }, d.entities.map((id) => h("a", { class: "chip mono", href: "#/entities", text: id })))
            : null,
          props.length
            ? h("details", {}, h("summary", { text: `Advertised properties (${props.length})` }), h("dl", { class: "dl" }, props.map(([k, v]) => pair(k, formatValue(v), "mono"))))
            : null,
        );
      }),
    ),
  );
}

function pair(label, value, cls) {
  if (value === null || value === undefined || value === "") return null;
  return [h("dt", { text: label }), h("dd", { class: cls || null, text: formatValue(value) })];
}
