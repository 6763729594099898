// Wanted: the titles the hub is acquiring, the Missing and Cutoff-unmet lists, a form to add a
// title (by hand or looked up with the metadata provider), automatic and interactive search, and
// one title's targets (#/wanted/<id>). Lists refresh live from acquisition_* hub events.
//
// Routes: #/wanted[?tab=titles|missing|cutoff]   #/wanted/<id>
import { api, showError } from "./api.js";
import { debounce, formatAgo, formatTime, formatValue, h, replace } from "./dom.js";
import { icon } from "./icons.js";
import { hubSocket } from "./ws.js";
import {
  MEDIA_TYPES,
  MONITOR,
  TARGET_STATUS,
  actionButton,
  badge,
  confirmButton,
  dataTable,
  emptyState,
  pageHead,
  plural,
  tabStrip,
  targetCode,
  withoutName,
} from "./acquisition.js";

const TABS = [
  { id: "titles", label: "Titles" },
  { id: "missing", label: "Missing" },
  { id: "cutoff", label: "Cutoff unmet" },
];
const LIVE_EVENTS = new Set(["acquisition_wanted_changed", "acquisition_imported"]);

export function render(main, { params, query }) {
  if (params && params[0]) return renderTitle(main, Number(params[0]));
  return renderLists(main, query);
}

// ---- live refresh shared by both pages -----------------------------------------------------------

/** Call `reload` (debounced) on wanted/import events, on a grab changing state, and on reconnect. */
function liveRefresh(reload) {
  const refresh = debounce(reload, 500);
  const grabStates = new Map();
  const offEvent = hubSocket.onEvent((event) => {
    if (LIVE_EVENTS.has(event.event_type)) refresh();
    else if (event.event_type === "acquisition_grab_updated" && event.data) {
      // Progress ticks arrive often; only a change of state can change a target's status.
      const { id, state } = event.data;
      if (grabStates.get(id) !== state) {
        grabStates.set(id, state);
        refresh();
      }
    }
  });
  const offStatus = hubSocket.onStatus((status) => {
    if (status === "connected") refresh();
  });
  return () => {
    offEvent();
    offStatus();
    refresh.cancel();
  };
}

/** Run the automatic search for a title (optionally some of its targets); report in `note`. */
async function automaticSearch(note, titleId, titleName, targetIds = null) {
  try {
    const body = targetIds ? { target_ids: targetIds } : {};
    const result = await api(`/api/acquisition/wanted/${titleId}/search`, { method: "POST", body });
    showSearchResult(note, titleName, result || {});
  } catch (err) {
    showError(err);
  }
}

function showSearchResult(note, titleName, result) {
  const grabbed = result.grabbed || [];
  const errors = result.errors || [];
  const decisions = Array.isArray(result.decisions) ? result.decisions : [];
  const accepted = decisions.filter((d) => d.accepted).length;
  const parts = [
    grabbed.length ? `grabbed ${grabbed.map((g) => g.release_title).join(", ")}` : "nothing grabbed",
    decisions.length ? `${plural(decisions.length, "release")} considered, ${accepted} accepted` : "no releases found",
  ];
  replace(
    note,
    h(
      "div",
      { class: grabbed.length ? "note ok-note" : "note", role: "status" },
      icon(grabbed.length ? "check" : "search"),
      h(
        "div",
        {},
        h("strong", { text: `Searched “${titleName}”: ` }),
        h("span", { class: "search-outcome", text: parts.join(" · ") }),
        errors.length
          ? h(
              "ul",
              { class: "indexer-errors plain" },
              errors.map((e) => h("li", { class: "indexer-error" }, icon("warning"), h("b", { text: `${e.indexer}: ` }), h("span", { text: withoutName(e.error, e.indexer) }))),
            )
          : null,
        grabbed.length ? h("p", { class: "note-links" }, h("a", { href: "#/queue", text: "Open the queue →" })) : null,
        !grabbed.length && accepted
          ? h(
              "p",
              { class: "muted small grab-hint" },
              "Accepted releases could not be sent to a download client — see ",
              h("a", { href: "#/indexers", text: "Indexers & clients" }),
              " and ",
              h("a", { href: "#/history", text: "History" }),
              ".",
            )
          : null,
      ),
    ),
  );
  note.hidden = false;
}

function showRssResult(note, result) {
  const grabbed = result.grabbed || [];
  const errors = result.errors || [];
  replace(
    note,
    h(
      "div",
      { class: grabbed.length ? "note ok-note" : "note", role: "status" },
      icon(grabbed.length ? "check" : "scan"),
      h(
        "div",
        {},
        h("strong", { text: "RSS sync: " }),
        h("span", { class: "search-outcome", text: `${plural(result.releases ?? 0, "release")} read · ${grabbed.length ? `grabbed ${grabbed.map((g) => g.release_title).join(", ")}` : "nothing grabbed"}` }),
        errors.length
          ? h("ul", { class: "indexer-errors plain" }, errors.map((e) => h("li", { class: "indexer-error" }, icon("warning"), h("b", { text: `${e.indexer}: ` }), h("span", { text: withoutName(e.error, e.indexer) }))))
          : null,
      ),
    ),
  );
  note.hidden = false;
}

// ---- #/wanted: titles, missing, cutoff unmet -------------------------------------------------------

function renderLists(main, query) {
  const tab = TABS.some((t) => t.id === query.get("tab")) ? query.get("tab") : "titles";
  const summary = h("p", { class: "muted page-sub", id: "wanted-summary" });
  const addButton = h("button", { type: "button", class: "btn primary", id: "wanted-add-toggle", "aria-expanded": "false" }, icon("plus"), h("span", { text: "Add title" }));
  const rssButton = actionButton({
    label: "RSS sync",
    iconName: "scan",
    className: "btn",
    busyLabel: "Syncing…",
    action: async () => {
      try {
        const result = await api("/api/acquisition/rss_sync", { method: "POST" });
        showRssResult(note, result || {});
      } catch (err) {
        showError(err);
      }
    },
    title: "Fetch every indexer's recent releases now and grab what is wanted",
  });
  rssButton.id = "rss-sync";
  const form = addForm(() => {
    addButton.setAttribute("aria-expanded", "false");
    form.hidden = true;
    load();
  });
  form.hidden = true;
  addButton.addEventListener("click", () => {
    form.hidden = !form.hidden;
    addButton.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) form.querySelector("input[name=title]").focus();
  });
  const note = h("div", { id: "wanted-note", "aria-live": "polite", hidden: true });
  const tabsBox = h("div", {});
  const list = h("div", { id: "wanted-list", "aria-busy": "true", dataset: { tab } });

  main.append(pageHead("Wanted", summary, rssButton, addButton), form, note, tabsBox, list);

  let controller = null;
  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    const { signal } = controller;
    list.setAttribute("aria-busy", "true");
    try {
      const [titles, missing, cutoff] = await Promise.all([
        api("/api/acquisition/wanted", { signal }),
        api("/api/acquisition/missing", { signal }),
        api("/api/acquisition/cutoff_unmet", { signal }),
      ]);
      const t = titles.titles || [];
      const m = missing.targets || [];
      const c = cutoff.targets || [];
      summary.textContent = `${plural(t.length, "title")} · ${m.length} missing · ${c.length} cutoff unmet`;
      replace(
        tabsBox,
        tabStrip(
          TABS.map((x) => ({ ...x, href: x.id === "titles" ? "#/wanted" : `#/wanted?tab=${x.id}`, count: { titles: t.length, missing: m.length, cutoff: c.length }[x.id] })),
          tab,
          "Wanted lists",
        ),
      );
      if (tab === "titles") replace(list, titlesTable(t));
      else replace(list, targetsTable(tab === "missing" ? m : c, tab));
    } catch (err) {
      showError(err);
    } finally {
      if (!signal.aborted) list.setAttribute("aria-busy", "false");
    }
  }

  function titlesTable(titles) {
    if (!titles.length) return emptyState("wanted", "Nothing is wanted yet. Use “Add title” to want a series, movie, album or book.");
    const rows = [...titles]
      .sort((a, b) => a.title.localeCompare(b.title))
      .map((t) => {
        const counts = t.counts || {};
        return h(
          "tr",
          { dataset: { titleId: String(t.id) } },
          h(
            "td",
            { class: "title-cell" },
            h("a", { href: `#/wanted/${t.id}`, class: "row-link" }, icon(t.media_type === "series" ? "episode" : t.media_type === "movie" ? "movie" : t.media_type === "album" ? "track" : "ebook"), h("span", { class: "wanted-title", text: t.title })),
            t.year ? h("span", { class: "muted", text: ` (${t.year})` }) : null,
          ),
          h("td", { text: MEDIA_TYPES[t.media_type] || t.media_type }),
          h("td", { class: "nowrap", text: t.quality_profile || "" }),
          h("td", { class: "nowrap", text: t.media_type === "series" ? MONITOR[t.monitor] || t.monitor || "" : t.monitor === "none" ? "Not monitored" : "Monitored" }),
          h("td", { class: "counts" }, countsCell(counts)),
          h("td", { class: "muted nowrap", title: formatTime(t.added_at), text: formatAgo(t.added_at) }),
          h("td", { class: "actions" }, titleActions(t)),
        );
      });
    return dataTable(["Title", "Type", "Profile", "Monitor", "Files", "Added", ""], rows, { id: "wanted-titles" });
  }

  function titleActions(t) {
    return [
      actionButton({ label: "Search now", iconName: "bolt", busyLabel: "Searching…", dataset: { action: "search" }, title: "Automatic search: grab the best acceptable release", action: () => automaticSearch(note, t.id, t.title) }),
      h("a", { class: "btn small", href: `#/search?title_id=${t.id}`, dataset: { action: "interactive" }, title: "Interactive search: see every release and why it was accepted or rejected" }, icon("search"), h("span", { text: "Interactive" })),
      confirmButton({
        label: "Remove",
        confirmLabel: "Remove?",
        dataset: { action: "remove" },
        title: "Stop wanting this title (files already in the library stay)",
        action: async () => {
          try {
            await api(`/api/acquisition/wanted/${t.id}`, { method: "DELETE" });
            load();
          } catch (err) {
            showError(err);
          }
        },
      }),
    ];
  }

  function targetsTable(targets, which) {
    if (!targets.length) {
      return emptyState("check", which === "missing" ? "Nothing is missing." : "Every file meets its profile's cutoff.");
    }
    const head = ["Title", "Episode", "Name", "Air date", which === "cutoff" ? "Current quality" : "Status", ""];
    const rows = targets.map((t) =>
      h(
        "tr",
        { dataset: { targetId: String(t.id), titleId: String(t.title_id) } },
        h("td", {}, h("a", { href: `#/wanted/${t.title_id}`, class: "row-link", text: t.title || `#${t.title_id}` })),
        h("td", { class: "mono", text: targetCode(t) }),
        h("td", { text: t.name || "" }),
        h("td", { class: "nowrap", text: t.air_date || "" }),
        h("td", {}, which === "cutoff" ? h("span", { text: t.file_quality || "—" }) : badge(TARGET_STATUS, t.status || "missing")),
        h(
          "td",
          { class: "actions" },
          actionButton({ label: "Search", iconName: "bolt", busyLabel: "Searching…", dataset: { action: "search" }, action: () => automaticSearch(note, t.title_id, `${t.title || ""} ${targetCode(t)}`.trim(), [t.id]) }),
          h("a", { class: "btn small", href: `#/search?title_id=${t.title_id}&target_id=${t.id}`, dataset: { action: "interactive" } }, icon("search"), h("span", { text: "Interactive" })),
        ),
      ),
    );
    return dataTable(head, rows, { id: `wanted-${which}` });
  }

  const stop = liveRefresh(load);
  load();
  return () => {
    stop();
    if (controller) controller.abort();
  };
}

function countsCell(counts) {
  const targets = counts.targets ?? 0;
  const have = counts.have ?? 0;
  return h(
    "span",
    { class: "count-line" },
    h("span", { class: "have", text: `${have}/${targets}` }),
    counts.missing ? h("span", { class: "badge warn", text: `${counts.missing} missing` }) : null,
    counts.cutoff_unmet ? h("span", { class: "badge info", text: `${counts.cutoff_unmet} below cutoff` }) : null,
    counts.queued ? h("span", { class: "badge muted", text: `${counts.queued} queued` }) : null,
  );
}

// ---- the add form ------------------------------------------------------------------------------------

function addForm(onAdded) {
  const mediaType = h("select", { name: "media_type", id: "add-media-type" }, Object.entries(MEDIA_TYPES).map(([v, l]) => h("option", { value: v, text: l })));
  const title = h("input", { name: "title", id: "add-title", required: true, autocomplete: "off", placeholder: "e.g. Breaking Bad" });
  const year = h("input", { name: "year", id: "add-year", type: "number", min: "1870", max: "2100", inputmode: "numeric", placeholder: "optional" });
  const profile = h("select", { name: "quality_profile", id: "add-profile" }, h("option", { value: "", text: "Default" }));
  const monitor = h("select", { name: "monitor", id: "add-monitor" }, Object.entries(MONITOR).map(([v, l]) => h("option", { value: v, text: l })));
  const seasons = h("input", { name: "seasons", id: "add-seasons", placeholder: "e.g. 1, 2", autocomplete: "off" });
  const episodes = h("input", { name: "episodes", id: "add-episodes", placeholder: "e.g. S01E01-E10, S02E03", autocomplete: "off" });
  const ids = h("input", { name: "ids", id: "add-ids", placeholder: "e.g. tvdbid=81189 imdbid=tt0903747", autocomplete: "off" });
  const lookup = h("input", { type: "checkbox", name: "lookup", id: "add-lookup", checked: true });
  const search = h("input", { type: "checkbox", name: "search", id: "add-search" });
  const submit = h("button", { type: "submit", class: "btn primary", id: "add-submit" }, icon("plus"), h("span", { text: "Add" }));
  const field = (label, control, extra = {}) => h("label", { class: "field", ...extra }, h("span", { class: "field-label", text: label }), control);
  const seasonsField = field("Seasons", seasons, { dataset: { for: "seasons" } });
  const episodesField = field("Episodes (by hand)", episodes, { dataset: { for: "series" } });
  const monitorField = field("Monitor", monitor, { dataset: { for: "series" } });

  const form = h(
    "form",
    { class: "panel add-form", id: "wanted-add", "aria-label": "Add a wanted title" },
    h("h2", { text: "Add a wanted title" }),
    h(
      "div",
      { class: "form-grid" },
      field("Type", mediaType),
      field("Title", title, { class: "field wide" }),
      field("Year", year),
      field("Quality profile", profile),
      monitorField,
      seasonsField,
      episodesField,
      field("External ids", ids, { class: "field wide" }),
    ),
    h(
      "div",
      { class: "form-foot" },
      h("label", { class: "check" }, lookup, h("span", { text: "Look up details and episodes with the metadata provider (when one is configured)" })),
      h("label", { class: "check" }, search, h("span", { text: "Search for it right away" })),
      submit,
    ),
  );

  function sync() {
    const series = mediaType.value === "series";
    monitorField.hidden = !series;
    episodesField.hidden = !series;
    seasonsField.hidden = !series || monitor.value !== "seasons";
  }
  mediaType.addEventListener("change", sync);
  monitor.addEventListener("change", sync);
  sync();

  api("/api/acquisition/profiles")
    .then((data) => {
      for (const p of data.profiles || []) {
        profile.append(h("option", { value: p.name, text: p.name, title: `${(p.qualities || []).join(", ")} · cutoff ${p.cutoff}` }));
      }
    })
    .catch(showError);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { media_type: mediaType.value, title: title.value.trim() };
    if (!body.title) {
      showError("A wanted title needs a title.");
      return;
    }
    if (year.value) body.year = Number(year.value);
    if (profile.value) body.quality_profile = profile.value;
    try {
      if (body.media_type === "series") {
        body.monitor = monitor.value;
        if (monitor.value === "seasons") body.seasons = parseNumbers(seasons.value, "season");
        if (episodes.value.trim()) body.episodes = parseEpisodes(episodes.value);
      }
      if (ids.value.trim()) body.ids = parseIds(ids.value);
    } catch (err) {
      showError(err);
      return;
    }
    body.lookup = lookup.checked;
    if (search.checked) body.search = true;
    submit.disabled = true;
    try {
      await api("/api/acquisition/wanted", { method: "POST", body });
      form.reset();
      sync();
      onAdded();
    } catch (err) {
      showError(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** "1, 2 3" → [1, 2, 3]. */
export function parseNumbers(text, what) {
  const out = [];
  for (const token of text.split(/[\s,]+/).filter(Boolean)) {
    if (!/^\d+$/.test(token)) throw new Error(`Not a ${what} number: “${token}”`);
    out.push(Number(token));
  }
  return out;
}

/**
 * Episodes typed by hand → [{season, episode}]. Accepts "S01E01", "1x01", ranges "S01E01-E10" /
 * "S01E01-S01E10" / "1x01-10", separated by commas or spaces.
 */
export function parseEpisodes(text) {
  const out = [];
  for (const token of text.split(/[\s,;]+/).filter(Boolean)) {
    const m = /^(?:s(\d{1,4})e(\d{1,4})|(\d{1,4})x(\d{1,4}))(?:-(?:(?:s(\d{1,4}))?e|(?:(\d{1,4})x))?(\d{1,4}))?$/i.exec(token);
    if (!m) throw new Error(`Not an episode: “${token}” (write S01E02, 1x02 or S01E01-E10)`);
    const season = Number(m[1] ?? m[3]);
    const first = Number(m[2] ?? m[4]);
    const endSeason = m[5] ?? m[6];
    if (endSeason !== undefined && Number(endSeason) !== season) throw new Error(`A range stays in one season: “${token}”`);
    const last = m[7] !== undefined ? Number(m[7]) : first;
    if (last < first) throw new Error(`The range runs backwards: “${token}”`);
    if (last - first > 500) throw new Error(`Too many episodes in “${token}”`);
    for (let ep = first; ep <= last; ep += 1) out.push({ season, episode: ep });
  }
  return out;
}

/** "tvdbid=81189 imdbid:tt0903747" → {tvdbid: 81189, imdbid: "tt0903747"}. */
export function parseIds(text) {
  const out = {};
  for (const token of text.split(/[\s,;]+/).filter(Boolean)) {
    const m = /^([a-z]+)[=:](\S+)$/i.exec(token);
    if (!m) throw new Error(`Not an id: “${token}” (write name=value, e.g. tmdbid=1396)`);
    out[m[1].toLowerCase()] = /^\d+$/.test(m[2]) ? Number(m[2]) : m[2];
  }
  return out;
}

// ---- #/wanted/<id>: one title and its targets --------------------------------------------------------

function renderTitle(main, id) {
  const head = h("div", {});
  const note = h("div", { id: "wanted-note", "aria-live": "polite", hidden: true });
  const facts = h("div", {});
  const targetsBox = h("div", { id: "wanted-targets", "aria-busy": "true" });
  main.append(
    h("p", { class: "crumbs" }, h("a", { class: "back-link", href: "#/wanted" }, icon("back"), "Wanted")),
    head,
    note,
    facts,
    h("h2", { class: "section-title", text: "Targets" }),
    targetsBox,
  );

  let controller = null;
  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const t = await api(`/api/acquisition/wanted/${id}`, { signal: controller.signal });
      draw(t);
    } catch (err) {
      if (err.status === 404) {
        replace(head, pageHead("Not wanted", h("p", { class: "muted page-sub", text: `There is no wanted title #${id} (it may have been removed).` })));
        replace(targetsBox);
      } else showError(err);
    } finally {
      targetsBox.setAttribute("aria-busy", "false");
    }
  }

  function draw(t) {
    document.title = `${t.title} · Wanted · Omni-Media`;
    const sub = h("p", { class: "muted page-sub" }, [MEDIA_TYPES[t.media_type] || t.media_type, t.year, t.quality_profile].filter(Boolean).join(" · "));
    replace(
      head,
      pageHead(
        t.year ? `${t.title} (${t.year})` : t.title,
        sub,
        actionButton({ label: "Search now", iconName: "bolt", className: "btn", busyLabel: "Searching…", dataset: { action: "search" }, action: () => automaticSearch(note, t.id, t.title) }),
        h("a", { class: "btn", href: `#/search?title_id=${t.id}`, dataset: { action: "interactive" } }, icon("search"), h("span", { text: "Interactive search" })),
        confirmButton({
          label: "Remove",
          confirmLabel: "Remove?",
          className: "btn",
          dataset: { action: "remove" },
          action: async () => {
            try {
              await api(`/api/acquisition/wanted/${t.id}`, { method: "DELETE" });
              window.location.hash = "#/wanted";
            } catch (err) {
              showError(err);
            }
          },
        }),
      ),
    );
    head.querySelector("h1").id = "wanted-title";
    const ids = Object.entries(t.ids || {}).map(([k, v]) => `${k}=${v}`).join(" ");
    replace(
      facts,
      h(
        "div",
        { class: "panel" },
        h(
          "dl",
          { class: "dl" },
          pair("Monitor", t.media_type === "series" ? `${MONITOR[t.monitor] || t.monitor}${t.seasons && t.seasons.length ? ` (${t.seasons.join(", ")})` : ""}` : t.monitor),
          pair("Files", h("span", {}, countsCell(t.counts || {}))),
          pair("Folder", t.path || t.root_folder),
          pair("Ids", ids),
          pair("Added", formatTime(t.added_at)),
          pair("Last searched", t.last_search_at ? formatTime(t.last_search_at) : null),
          pair("Overview", t.details && t.details.overview),
        ),
      ),
    );
    const targets = [...(t.targets || [])].sort((a, b) => (a.season ?? 0) - (b.season ?? 0) || (a.episode ?? 0) - (b.episode ?? 0) || String(a.air_date || "").localeCompare(String(b.air_date || "")));
    if (!targets.length) {
      replace(
        targetsBox,
        emptyState("wanted", t.media_type === "series" ? "No episodes are known yet. Add them by hand or look the series up with a metadata provider." : "Nothing to acquire."),
      );
      return;
    }
    const rows = targets.map((x) =>
      h(
        "tr",
        { dataset: { targetId: String(x.id), status: x.status || "" }, class: x.monitored === false ? "unmonitored" : null },
        h("td", { class: "mono", text: targetCode(x) || (MEDIA_TYPES[t.media_type] || x.kind) }),
        h("td", { text: x.name || "" }),
        h("td", { class: "nowrap", text: x.air_date || "" }),
        h("td", {}, x.monitored === false ? h("span", { class: "badge muted", text: "Unmonitored" }) : badge(TARGET_STATUS, x.status)),
        h("td", { text: x.file_quality || "" }),
        h("td", { class: "mono path", text: x.file_path || "" }),
        h(
          "td",
          { class: "actions" },
          actionButton({ label: "Search", iconName: "bolt", busyLabel: "Searching…", dataset: { action: "search" }, action: () => automaticSearch(note, t.id, `${t.title} ${targetCode(x)}`.trim(), [x.id]) }),
          h("a", { class: "btn small", href: `#/search?title_id=${t.id}&target_id=${x.id}`, dataset: { action: "interactive" } }, icon("search"), h("span", { text: "Interactive" })),
        ),
      ),
    );
    replace(targetsBox, dataTable([t.media_type === "series" ? "Episode" : "", "Name", "Air date", "Status", "Quality", "File", ""], rows, { id: "targets-table" }));
  }

  const stop = liveRefresh(load);
  load();
  return () => {
    stop();
    if (controller) controller.abort();
  };
}

function pair(label, value) {
  if (value === null || value === undefined || value === "") return null;
  return [h("dt", { text: label }), h("dd", {}, value instanceof Node ? value : formatValue(value))];
}
