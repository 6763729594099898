// Interactive search: ask every enabled indexer at once and see each release with its quality,
// size, age, peers, score and the decision — accepted ones first with a Grab button, rejected ones
// with their reasons. An indexer that fails shows as an error line; the others' results still show.
//
// Route: #/search[?q=&type=&title_id=&target_id=]  (title_id/target_id: search for a wanted title
// or one of its episodes, with the decisions made against its quality profile).
import { api, showError } from "./api.js";
import { formatSize, formatTime, h, replace } from "./dom.js";
import { icon } from "./icons.js";
import {
  SEARCH_TYPES,
  SEARCH_TYPE_FOR,
  dataTable,
  emptyState,
  pageHead,
  plural,
  targetCode,
  formatReleaseAge,
  withoutName,
} from "./acquisition.js";

const REASONS_SHOWN = 2;

function readState(query) {
  const type = query.get("type");
  return {
    q: query.get("q") || "",
    type: type && SEARCH_TYPES[type] ? type : "",
    title_id: query.get("title_id") || "",
    target_id: query.get("target_id") || "",
  };
}

function stateHash(state) {
  const q = new URLSearchParams();
  for (const key of ["q", "type", "title_id", "target_id"]) if (state[key]) q.set(key, state[key]);
  const qs = q.toString();
  return qs ? `#/search?${qs}` : "#/search";
}

export function render(main, { query }) {
  const state = readState(query);
  let controller = null;
  let wanted = null; // the wanted title this search is for, when title_id is set

  const summary = h("p", { class: "muted page-sub", id: "search-for" }, "Search every enabled indexer; see why each release is accepted or rejected.");
  const input = h("input", { type: "search", id: "search-q", name: "q", placeholder: "Release or title, e.g. The Expanse S01E01", autocomplete: "off", value: state.q });
  const typeSelect = h(
    "select",
    { id: "search-type", name: "type" },
    Object.entries(SEARCH_TYPES).map(([value, label]) => h("option", { value, text: label, selected: value === (state.type || "search") })),
  );
  const go = h("button", { type: "submit", class: "btn primary", id: "search-go" }, icon("search"), h("span", { text: "Search" }));
  const form = h(
    "form",
    { class: "toolbar", role: "search", id: "search-form" },
    h("label", { class: "search-field" }, icon("search"), h("span", { class: "sr-only", text: "Search indexers" }), input),
    h("label", { class: "select-field" }, h("span", { class: "sr-only", text: "Search type" }), typeSelect),
    go,
  );
  const forBox = h("div", { id: "search-context" });
  const status = h("p", { class: "result-count muted", id: "search-status", "aria-live": "polite" });
  const errorsBox = h("div", { id: "search-errors" });
  const showRejected = h("input", { type: "checkbox", id: "search-show-rejected", checked: true });
  const filterLine = h("label", { class: "check", hidden: true }, showRejected, h("span", { text: "Show rejected releases" }));
  const results = h("div", { id: "search-results", "aria-busy": "false" });
  main.append(pageHead("Interactive search", summary), forBox, form, h("div", { class: "result-head" }, status, filterLine), errorsBox, results);

  let lastResults = [];

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    state.q = input.value.trim();
    state.type = typeSelect.value === "search" && !state.title_id ? "" : typeSelect.value;
    history.replaceState(null, "", stateHash(state));
    run();
  });
  showRejected.addEventListener("change", () => drawResults(lastResults));

  async function loadWanted() {
    if (!state.title_id) return;
    try {
      wanted = await api(`/api/acquisition/wanted/${encodeURIComponent(state.title_id)}`);
    } catch (err) {
      showError(err);
      return;
    }
    const target = state.target_id ? (wanted.targets || []).find((t) => String(t.id) === String(state.target_id)) : null;
    const label = [wanted.title, wanted.year ? `(${wanted.year})` : "", target ? targetCode(target) : "", target && target.name ? `· ${target.name}` : ""].filter(Boolean).join(" ");
    replace(
      forBox,
      h(
        "div",
        { class: "note search-for" },
        icon("wanted"),
        h(
          "div",
          {},
          h("span", { text: "Searching for " }),
          h("a", { href: `#/wanted/${wanted.id}`, id: "search-for-title", text: label }),
          h("span", { class: "muted", text: ` · profile ${wanted.quality_profile || "default"}` }),
          h("span", { class: "muted" }, " · "),
          h("a", { href: "#/search", text: "clear" }),
        ),
      ),
    );
    if (!state.type && SEARCH_TYPE_FOR[wanted.media_type]) typeSelect.value = SEARCH_TYPE_FOR[wanted.media_type];
  }

  async function run() {
    if (!state.q && !state.title_id) {
      status.textContent = "";
      replace(results, emptyState("search", "Type a title or release name, or open this page from a wanted title."));
      return;
    }
    if (controller) controller.abort();
    controller = new AbortController();
    const started = performance.now();
    results.setAttribute("aria-busy", "true");
    go.disabled = true;
    go.classList.add("busy");
    status.textContent = "Searching the indexers…";
    replace(errorsBox);
    try {
      const params = { q: state.q, type: typeSelect.value, title_id: state.title_id, target_id: state.target_id };
      const data = await api("/api/acquisition/search", { params, signal: controller.signal });
      lastResults = data.results || [];
      const errors = data.errors || [];
      const indexers = data.indexers || [];
      const elapsed = typeof data.elapsed === "number" ? data.elapsed : (performance.now() - started) / 1000;
      const accepted = lastResults.filter((r) => r.accepted).length;
      status.textContent = `${plural(lastResults.length, "release")} from ${plural(indexers.length, "indexer")} in ${elapsed.toFixed(1)} s · ${accepted} accepted`;
      drawErrors(errors);
      filterLine.hidden = !lastResults.length;
      drawResults(lastResults);
    } catch (err) {
      if (err.name === "AbortError") return;
      status.textContent = "";
      showError(err);
    } finally {
      results.setAttribute("aria-busy", "false");
      go.disabled = false;
      go.classList.remove("busy");
    }
  }

  function drawErrors(errors) {
    replace(
      errorsBox,
      errors.map((e) =>
        h(
          "div",
          { class: "alert indexer-error", role: "alert", dataset: { indexer: e.indexer } },
          icon("warning"),
          h("div", {}, h("strong", { text: `${e.indexer}: ` }), h("span", { class: "reason", text: withoutName(e.error, e.indexer) })),
        ),
      ),
    );
  }

  function drawResults(all) {
    // Accepted first (then pending), each group in the server's ranked order.
    const rank = (r) => (r.accepted ? 0 : r.pending ? 1 : 2);
    const sorted = all.map((r, i) => [r, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([r]) => r);
    const shown = showRejected.checked ? sorted : sorted.filter((r) => r.accepted || r.pending);
    if (!shown.length) {
      replace(results, emptyState("search", all.length ? "Every release was rejected (tick “Show rejected releases” to see why)." : "No releases found."));
      return;
    }
    const head = ["", "Release", "Indexer", "Quality", { label: "Size", num: true }, { label: "Age", num: true }, { label: "Peers", num: true }, { label: "Score", num: true }, ""];
    replace(results, dataTable(head, shown.map(resultRow), { id: "search-table" }));
  }

  function resultRow(result) {
    const r = result.release || {};
    const decision = result.accepted ? "accepted" : result.pending ? "pending" : "rejected";
    const reasons = result.rejections || [];
    const parsed = result.parsed || {};
    const details = [
      parsed.release_group ? parsed.release_group : null,
      (r.flags || []).length ? r.flags.join(", ") : null,
      r.protocol,
    ].filter(Boolean);
    const titleCell = h(
      "td",
      { class: "release" },
      h("div", { class: "release-title" }, r.info_url ? h("a", { href: r.info_url, target: "_blank", rel: "noopener noreferrer", text: r.title }) : h("span", { text: r.title })),
      details.length ? h("div", { class: "muted small", text: details.join(" · ") }) : null,
      reasons.length ? reasonList(reasons) : null,
    );
    const grabCell = h("td", { class: "actions" }, grabButton(result, decision));
    return h(
      "tr",
      { class: `decision-${decision}`, dataset: { decision, indexer: r.indexer || "" } },
      h("td", {}, decisionBadge(decision, result)),
      titleCell,
      h("td", { class: "nowrap", text: r.indexer || "" }),
      h("td", { class: "nowrap", text: qualityName(result.quality) + revisionText(result) }),
      h("td", { class: "num", text: formatSize(r.size) }),
      h("td", { class: "num", title: r.published ? formatTime(r.published) : null, text: formatReleaseAge(r.published) }),
      h("td", { class: "num", title: r.protocol === "usenet" ? "grabs" : "seeders / peers", text: peers(r) }),
      h("td", { class: "num", text: result.score === undefined || result.score === null ? "" : String(result.score) }),
      grabCell,
    );
  }

  function grabButton(result, decision) {
    const accepted = decision !== "rejected";
    const button = h(
      "button",
      {
        type: "button",
        class: accepted ? "btn small primary" : "btn small",
        dataset: { action: "grab" },
        title: accepted ? "Send this release to the download client" : "Grab it anyway, despite the rejections",
      },
      icon("queue"),
      h("span", { text: accepted ? "Grab" : "Grab anyway" }),
    );
    button.addEventListener("click", async () => {
      button.disabled = true;
      button.classList.add("busy");
      try {
        const body = { release: result.release };
        if (state.title_id) body.title_id = Number(state.title_id);
        if (result.target_ids && result.target_ids.length) body.target_ids = result.target_ids;
        else if (state.target_id) body.target_ids = [Number(state.target_id)];
        await api("/api/acquisition/grab", { method: "POST", body });
        button.replaceWith(h("a", { class: "badge ok grabbed", href: "#/queue", title: "Open the queue", text: "Grabbed" }));
      } catch (err) {
        button.disabled = false;
        showError(err);
      } finally {
        button.classList.remove("busy");
      }
    });
    return button;
  }

  loadWanted().then(run);
  return () => {
    if (controller) controller.abort();
  };
}

function decisionBadge(decision, result) {
  if (decision === "accepted") return h("span", { class: "badge ok", title: "Meets the profile", text: "Accepted" });
  if (decision === "pending") return h("span", { class: "badge warn", title: (result.rejections || []).join("; ") || "Waiting for the profile's delay", text: "Pending" });
  return h("span", { class: "badge bad", text: "Rejected" });
}

/** Rejection reasons: the first few always visible, the rest behind a disclosure. */
function reasonList(reasons) {
  const first = reasons.slice(0, REASONS_SHOWN);
  const rest = reasons.slice(REASONS_SHOWN);
  return h(
    "div",
    { class: "reasons" },
    h("ul", { class: "reason-list" }, first.map((r) => h("li", { class: "rejection", text: r }))),
    rest.length
      ? h("details", {}, h("summary", { text: `${rest.length} more reason${rest.length === 1 ? "" : "s"}` }), h("ul", { class: "reason-list" }, rest.map((r) => h("li", { class: "rejection", text: r }))))
      : null,
  );
}

function qualityName(quality) {
  if (!quality) return "";
  if (typeof quality === "string") return quality;
  const name = quality.name || quality.quality || "";
  return name;
}

/** " v2" / " PROPER" when the release is a newer revision of the same quality. */
function revisionText(result) {
  const rev = result.revision;
  const parsed = result.parsed || {};
  if (parsed.proper) return " PROPER";
  if (parsed.repack) return " REPACK";
  if (typeof rev === "number" && rev > 1) return ` v${rev}`;
  if (rev && typeof rev === "object" && rev.version > 1) return ` v${rev.version}`;
  return "";
}

function peers(r) {
  if (r.protocol === "usenet") return r.grabs === null || r.grabs === undefined ? "" : `${r.grabs} grabs`;
  const s = r.seeders;
  const p = r.peers;
  if ((s === null || s === undefined) && (p === null || p === undefined)) return "";
  return `${s ?? "?"} / ${p ?? "?"}`;
}
