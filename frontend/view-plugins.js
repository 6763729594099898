// Plugins: each plugin's state, and for a failed one the reason, impossible to miss. Also the
// service catalogue (the actions the REST API, dashboard and assistant can call).
import { api, showError } from "./api.js";
import { debounce, formatValue, h, replace } from "./dom.js";
import { icon } from "./icons.js";
import { hubSocket } from "./ws.js";

const STATE_CLASS = { running: "ok", loaded: "info", setting_up: "info", retrying: "warn", failed: "bad", stopped: "muted" };
const STATE_LABEL = { running: "Running", loaded: "Loaded", setting_up: "Setting up", retrying: "Retrying", failed: "Failed", stopped: "Stopped" };

export function render(main) {
  const summary = h("p", { class: "muted page-sub", id: "plugins-summary" });
  const list = h("div", { id: "plugins", "aria-busy": "true" });
  const services = h("div", { id: "services" });
  main.append(
    h("header", { class: "page-head" }, h("div", {}, h("h1", { text: "Plugins" }), summary)),
    list,
    h("h2", { class: "section-title", text: "Services" }),
    services,
  );

  async function load() {
    try {
      const { plugins } = await api("/api/plugins");
      renderPlugins(list, summary, plugins || []);
    } catch (err) {
      showError(err);
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }
  async function loadServices() {
    try {
      const data = await api("/api/services");
      renderServices(services, data.services || []);
    } catch (err) {
      showError(err);
    }
  }

  const refresh = debounce(load, 300);
  const off = hubSocket.onEvent((e) => {
    if (e.event_type === "plugin_state_changed") refresh();
  });
  load();
  loadServices();
  return () => {
    off();
    refresh.cancel();
  };
}

function renderPlugins(list, summary, plugins) {
  const failed = plugins.filter((p) => p.state === "failed").length;
  summary.textContent = `${plugins.length} plugin${plugins.length === 1 ? "" : "s"}${failed ? ` · ${failed} failed` : ""}`;
  if (!plugins.length) {
    replace(list, h("div", { class: "empty" }, icon("plugins", "icon empty-icon"), h("p", { text: "No plugins are configured." })));
    return;
  }
  const order = (p) => (p.state === "failed" ? 0 : p.state === "retrying" ? 1 : 2);
  const sorted = [...plugins].sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));
  replace(
    list,
    h(
      "ul",
      { class: "cards" },
      sorted.map((p) => {
        const m = p.manifest || {};
        const bad = p.state === "failed";
        return h(
          "li",
          { class: `panel plugin state-${p.state}${bad ? " plugin-failed" : ""}`, dataset: { plugin: p.name, state: p.state } },
          h(
            "div",
            { class: "panel-head" },
            h("h2", {}, icon(bad ? "warning" : "plugins"), h("span", { text: p.name })),
            h("span", { class: `badge ${STATE_CLASS[p.state] || "muted"}`, text: STATE_LABEL[p.state] || p.state }),
          ),
          m.description ? h("p", { class: "muted", text: m.description }) : null,
          p.reason ? h("div", { class: bad ? "alert" : "note", role: bad ? "alert" : null }, h("strong", { text: bad ? "Failed: " : "Note: " }), h("span", { class: "reason", text: p.reason })) : null,
          h(
            "dl",
            { class: "dl" },
            pair("Version", m.version),
            pair("Source", p.source),
            pair("Kinds", m.kinds),
            pair("Retries", p.retries ? p.retries : null),
            pair("Providers", p.providers && p.providers.length ? p.providers : null),
            pair("Discovers", zeroconfTypes(m.zeroconf)),
          ),
        );
      }),
    ),
  );
}

function zeroconfTypes(zeroconf) {
  if (!Array.isArray(zeroconf) || !zeroconf.length) return null;
  return zeroconf.map((z) => (typeof z === "string" ? z : z.type)).filter(Boolean);
}

function renderServices(box, services) {
  if (!services.length) {
    replace(box, h("p", { class: "muted", text: "No services registered." }));
    return;
  }
  const sorted = [...services].sort((a, b) => `${a.domain}.${a.service}`.localeCompare(`${b.domain}.${b.service}`));
  replace(
    box,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h("thead", {}, h("tr", {}, ["Service", "Description", "Fields"].map((t) => h("th", { scope: "col", text: t })))),
        h(
          "tbody",
          {},
          sorted.map((s) =>
            h(
              "tr",
              {},
              h("td", { class: "mono", text: `${s.domain}.${s.service}` }),
              h("td", { text: s.description || "" }),
              h("td", { class: "mono", text: fieldNames(s.fields) }),
            ),
          ),
        ),
      ),
    ),
  );
}

function fieldNames(fields) {
  if (!fields) return "";
  if (Array.isArray(fields)) return fields.map((f) => (typeof f === "string" ? f : f.name)).join(", ");
  return Object.keys(fields).join(", ");
}

function pair(label, value) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) return null;
  return [h("dt", { text: label }), h("dd", { text: formatValue(value) })];
}
