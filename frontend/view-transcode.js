// Optimise: the library optimiser. The job queue with live progress (percent, speed, ETA) from
// `transcode_job_updated` events, pause / resume / cancel / retry per job and for the whole queue,
// priorities; candidates with their estimated savings and "Add to queue"; what was saved, per
// library and in total; and the encoders each transcoder found (hardware and software).
//
// Route: #/transcode
import { api, showError } from "./api.js";
import { debounce, formatAgo, formatDuration, formatSize, h, replace } from "./dom.js";
import { icon } from "./icons.js";
import { mediaIcon } from "./player.js";
import { hubSocket } from "./ws.js";
import { actionButton, badge, confirmButton, dataTable, emptyState, pageHead, plural, progressBar, setProgress } from "./acquisition.js";
import { formatEta } from "./view-queue.js";
import { fileName } from "./view-library.js";

export const JOB_STATES = {
  queued: ["Queued", "muted"],
  running: ["Encoding", "info"],
  verifying: ["Verifying", "info"],
  paused: ["Paused", "warn"],
  done: ["Done", "ok"],
  failed: ["Failed", "bad"],
  cancelled: ["Cancelled", "muted"],
  skipped: ["Skipped", "muted"],
};
const ACTIVE = new Set(["queued", "running", "verifying", "paused"]);
const WORKING = new Set(["running", "verifying"]);
const HW_APIS = { vaapi: "VA-API", qsv: "Quick Sync", nvenc: "NVENC", videotoolbox: "VideoToolbox", amf: "AMF", v4l2m2m: "V4L2" };
const ENCODER_STATUS = {
  available: ["Available", "ok"],
  degraded: ["Degraded", "warn"],
  unavailable: ["Unavailable", "muted"],
  untested: ["Not tested", "muted"],
};

/** Order of the queue: running first, then queued by priority (higher first) and age, then finished, newest first. */
function jobOrder(a, b) {
  const rank = (j) => (WORKING.has(j.state) ? 0 : ACTIVE.has(j.state) ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (rank(a) === 1) return (b.priority || 0) - (a.priority || 0) || (a.created_at || 0) - (b.created_at || 0);
  if (rank(a) === 2) return (b.finished_at || 0) - (a.finished_at || 0) || b.id - a.id;
  return a.id - b.id;
}

function percentSaved(before, after) {
  if (!before || after === null || after === undefined) return null;
  return Math.round(((before - after) / before) * 1000) / 10;
}

export function render(main) {
  const summary = h("p", { class: "muted page-sub", id: "transcode-summary", role: "status", "aria-live": "polite", text: "Loading…" });
  const queueToggle = h("button", { type: "button", class: "btn", id: "queue-toggle" }, mediaIcon("pause"), h("span", { text: "Pause queue" }));
  const clearButton = actionButton({
    label: "Clear finished",
    iconName: "trash",
    className: "btn",
    dataset: { action: "clear" },
    title: "Remove done, failed, cancelled and skipped jobs from the list (files are not touched)",
    action: clearFinished,
  });
  const queueNote = h("div", { class: "note", id: "queue-note", role: "status", "aria-live": "polite", hidden: true });

  const jobsBody = h("tbody", {});
  const jobsTable = dataTable(["File", "State", "Progress", { label: "Priority", class: "num" }, { label: "Size", num: true }, ""], [], { id: "transcode-jobs-table" });
  jobsTable.querySelector("table").replaceChild(jobsBody, jobsTable.querySelector("tbody"));
  const jobsBox = h("div", { id: "transcode-jobs", "aria-busy": "true" });

  const profileSelect = h("select", { id: "transcode-profile" });
  const candidatesSummary = h("p", { class: "muted small", id: "candidates-summary" });
  const candidatesNote = h("div", { class: "note", id: "candidates-note", role: "status", "aria-live": "polite", hidden: true });
  const candidatesBox = h("div", { id: "transcode-candidates", "aria-busy": "true" });
  const queueAll = actionButton({
    label: "Queue all",
    iconName: "plus",
    className: "btn small",
    dataset: { action: "queue-all" },
    title: "Queue every candidate with the chosen profile",
    action: () => addJobs({ all_candidates: true }),
  });

  const savingsBox = h("div", { id: "transcode-savings", "aria-busy": "true" });
  const encodersBox = h("div", { id: "transcode-encoders", "aria-busy": "true" });

  main.append(
    pageHead("Optimise", summary, queueToggle, clearButton),
    queueNote,
    h("section", { "aria-labelledby": "jobs-h" }, h("h2", { class: "section-title first", id: "jobs-h", text: "Queue" }), jobsBox),
    h(
      "section",
      { "aria-labelledby": "candidates-h" },
      h("h2", { class: "section-title", id: "candidates-h", text: "Candidates" }),
      h(
        "div",
        { class: "toolbar" },
        h("label", { class: "inline-field" }, h("span", { class: "field-label", text: "Profile" }), profileSelect),
        queueAll,
        candidatesSummary,
      ),
      candidatesNote,
      candidatesBox,
    ),
    h("section", { "aria-labelledby": "savings-h" }, h("h2", { class: "section-title", id: "savings-h", text: "Savings" }), savingsBox),
    h("section", { "aria-labelledby": "encoders-h" }, h("h2", { class: "section-title", id: "encoders-h", text: "Encoders" }), encodersBox),
  );

  // ---- queue ------------------------------------------------------------------------------------
  /** id → {job, tr, cells, bar, detail, priority} */
  const rows = new Map();
  let queue = null;
  let controller = null;

  function drawSummary() {
    const jobs = [...rows.values()].map((r) => r.job);
    const count = (s) => jobs.filter((j) => j.state === s).length;
    const parts = [];
    const working = count("running") + count("verifying");
    if (working) parts.push(`${working} running`);
    if (count("queued")) parts.push(`${count("queued")} queued`);
    if (count("paused")) parts.push(`${count("paused")} paused`);
    if (count("failed")) parts.push(`${count("failed")} failed`);
    if (count("done")) parts.push(`${count("done")} done`);
    summary.textContent = parts.length ? parts.join(" · ") : "No jobs";
    if (!jobs.length) replace(jobsBox, emptyState("bolt", "The queue is empty. Add candidates below to shrink files without losing them: the original stays until the new file is verified."));
    else if (!jobsBox.contains(jobsTable)) replace(jobsBox, jobsTable);
  }

  function drawQueue() {
    if (!queue) return;
    replace(queueToggle, mediaIcon(queue.paused ? "play" : "pause"), h("span", { text: queue.paused ? "Resume queue" : "Pause queue" }));
    queueToggle.dataset.paused = String(Boolean(queue.paused));
    const notes = [];
    if (queue.paused) notes.push("The queue is paused: nothing new starts until you resume it.");
    if (queue.schedule && !queue.in_schedule) notes.push(`Jobs start only between ${queue.schedule.start} and ${queue.schedule.end} (transcode → schedule).`);
    queueNote.hidden = !notes.length;
    replace(queueNote, notes.length ? [icon("warning"), h("span", { text: notes.join(" ") })] : []);
  }

  function makeRow(job) {
    const priority = h("input", { type: "number", class: "priority-input", step: "1", "aria-label": `Priority of job ${job.id} (higher runs first)` });
    priority.addEventListener("change", async () => {
      const value = Number.parseInt(priority.value, 10);
      if (Number.isNaN(value)) return;
      try {
        upsert(await api(`/api/transcode/jobs/${job.id}`, { method: "PATCH", body: { priority: value } }), true);
      } catch (err) {
        showError(err);
      }
    });
    const bar = progressBar(0, `Progress of job ${job.id}`);
    const detail = h("div", { class: "muted small job-detail" });
    const cells = {
      file: h("td", { class: "release" }),
      state: h("td", {}),
      progress: h("td", { class: "progress-cell" }, bar, detail),
      priority: h("td", { class: "num" }, priority),
      size: h("td", { class: "num" }),
      actions: h("td", { class: "actions" }),
    };
    const tr = h("tr", { dataset: { jobId: String(job.id) } }, Object.values(cells));
    const row = { job, tr, cells, bar, detail, priority, actionsFor: null };
    fill(row, job);
    return row;
  }

  function fill(row, job) {
    row.job = job;
    const { cells } = row;
    row.tr.dataset.state = job.state;
    const name = fileName(job.path || "") || `job ${job.id}`;
    replace(
      cells.file,
      h("div", { class: "release-title" }, job.item_id ? h("a", { href: `#/item/${job.item_id}`, text: name }) : name),
      h("div", { class: "muted small", text: [job.profile, job.encoder, job.transcoder, job.created_at ? `added ${formatAgo(job.created_at)}` : ""].filter(Boolean).join(" · "), title: job.path }),
      job.message ? h("div", { class: job.state === "failed" ? "bad-text job-message" : "muted small job-message", text: job.message }) : null,
    );
    const kept = job.state === "done" && job.outcome === "kept_original";
    replace(cells.state, kept ? badge({ k: ["Kept original", "warn"] }, "k", { dataset: { state: job.state } }) : badge(JOB_STATES, job.state, { dataset: { state: job.state } }));
    const fraction = job.state === "done" ? 1 : Number(job.progress || 0);
    setProgress(row.bar, fraction);
    row.bar.setAttribute("aria-label", `${JOB_STATES[job.state] ? JOB_STATES[job.state][0] : job.state}: progress of ${name}`);
    row.bar.classList.toggle("done", job.state === "done");
    row.bar.classList.toggle("failed", job.state === "failed");
    row.detail.textContent = detailText(job);
    if (document.activeElement !== row.priority) row.priority.value = String(job.priority ?? 0);
    row.priority.disabled = !ACTIVE.has(job.state);
    const after = job.size_after;
    const pct = percentSaved(job.size_before, after);
    replace(
      cells.size,
      job.size_before ? h("div", { text: after !== null && after !== undefined ? `${formatSize(job.size_before)} → ${formatSize(after)}` : formatSize(job.size_before) }) : null,
      pct !== null ? h("div", { class: pct > 0 ? "ok-text small" : "muted small", text: `${pct > 0 ? "−" : "+"}${Math.abs(pct)}%` }) : job.estimated_savings ? h("div", { class: "muted small", text: `~${formatSize(job.estimated_savings)} to save` }) : null,
    );
    const key = job.state;
    if (row.actionsFor !== key) {
      row.actionsFor = key;
      replace(cells.actions, actionsFor(job));
    }
  }

  function detailText(job) {
    if (job.state === "running") {
      const bits = ["Encoding"];
      if (job.speed) bits.push(`${Number(job.speed).toFixed(job.speed < 10 ? 2 : 0)}× real time`);
      const eta = formatEta(job.eta);
      if (eta) bits.push(`${eta} left`);
      return bits.join(" · ");
    }
    if (job.state === "verifying") return "Verifying the new file (streams, duration, full decode) before it replaces the original";
    if (job.state === "queued") return job.started_at ? "Waiting to start over" : "Waiting";
    if (job.state === "paused") return "Paused";
    if (job.finished_at) return `${JOB_STATES[job.state] ? JOB_STATES[job.state][0] : job.state} ${formatAgo(job.finished_at)}`;
    return "";
  }

  function jobAction(job, action, label, iconName, title) {
    return actionButton({
      label,
      iconName,
      title,
      dataset: { action },
      action: async () => {
        try {
          upsert(await api(`/api/transcode/jobs/${job.id}/${action}`, { method: "POST" }), true);
        } catch (err) {
          showError(err);
        }
      },
    });
  }

  function actionsFor(job) {
    const out = [];
    if (["queued", "running", "verifying"].includes(job.state)) out.push(jobAction(job, "pause", "Pause", null, job.state === "queued" ? "Keep it from starting" : "Stop it now; it starts over when resumed"));
    if (job.state === "paused") out.push(jobAction(job, "resume", "Resume", null, "Queue it again"));
    if (["failed", "cancelled"].includes(job.state)) out.push(jobAction(job, "resume", "Retry", "scan", "Queue it again"));
    if (ACTIVE.has(job.state)) {
      out.push(
        confirmButton({
          label: "Cancel",
          confirmLabel: "Cancel job?",
          iconName: "close",
          dataset: { action: "cancel" },
          title: "Cancel the job; the original file is kept",
          action: async () => {
            try {
              upsert(await api(`/api/transcode/jobs/${job.id}/cancel`, { method: "POST" }), true);
            } catch (err) {
              showError(err);
            }
          },
        }),
      );
    }
    return out;
  }

  function sortRows() {
    const sorted = [...rows.values()].sort((a, b) => jobOrder(a.job, b.job));
    const focused = document.activeElement;
    for (const row of sorted) jobsBody.append(row.tr);
    if (focused && focused !== document.activeElement && document.contains(focused)) focused.focus();
  }

  /** Add or update one job (from the API or an event). `resort`: its place may have changed. */
  function upsert(job, resort = false) {
    if (!job || job.id === undefined || job.id === null) return;
    const existing = rows.get(job.id);
    if (existing) {
      const moved = existing.job.state !== job.state || existing.job.priority !== job.priority;
      const wasDone = existing.job.state === "done";
      fill(existing, { ...existing.job, ...job });
      if (moved || resort) sortRows();
      if (job.state === "done" && !wasDone) refreshSavings();
      if (!ACTIVE.has(job.state) && moved) refreshCandidates();
    } else {
      rows.set(job.id, makeRow(job));
      sortRows();
      if (job.state === "done") refreshSavings();
    }
    drawSummary();
  }

  async function loadJobs() {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const data = await api("/api/transcode/jobs", { params: { limit: 200 }, signal: controller.signal });
      queue = data.queue;
      drawQueue();
      const seen = new Set((data.jobs || []).map((j) => j.id));
      for (const [id, row] of rows) {
        if (!seen.has(id)) {
          row.tr.remove();
          rows.delete(id);
        }
      }
      for (const job of data.jobs || []) {
        const row = rows.get(job.id);
        if (row) fill(row, job);
        else rows.set(job.id, makeRow(job));
      }
      sortRows();
      drawSummary();
    } catch (err) {
      if (err.name !== "AbortError") showError(err);
    } finally {
      jobsBox.setAttribute("aria-busy", "false");
    }
  }

  queueToggle.addEventListener("click", async () => {
    queueToggle.disabled = true;
    try {
      queue = await api(`/api/transcode/queue/${queue && queue.paused ? "resume" : "pause"}`, { method: "POST" });
      drawQueue();
      loadJobs();
    } catch (err) {
      showError(err);
    } finally {
      queueToggle.disabled = false;
    }
  });

  async function clearFinished() {
    try {
      await api("/api/transcode/jobs", { method: "DELETE" });
      await loadJobs();
    } catch (err) {
      showError(err);
    }
  }

  // ---- candidates ---------------------------------------------------------------------------------
  let candidatesController = null;

  async function loadProfiles() {
    try {
      const data = await api("/api/transcode/profiles");
      const transcoder = (data.transcoders || []).find((t) => t.default) || (data.transcoders || [])[0];
      const names = transcoder ? Object.keys(transcoder.profiles || {}) : [];
      replace(
        profileSelect,
        names.map((n) => h("option", { value: n, selected: n === data.profile, text: n === data.profile ? `${n} (default)` : n })),
      );
      profileSelect.disabled = !names.length;
      for (const [name, why] of Object.entries(data.errors || {})) showError(`Transcoder ${name} could not be created: ${why}`);
    } catch (err) {
      showError(err);
    }
  }

  async function loadCandidates() {
    if (candidatesController) candidatesController.abort();
    candidatesController = new AbortController();
    candidatesBox.setAttribute("aria-busy", "true");
    try {
      const data = await api("/api/transcode/candidates", { params: { profile: profileSelect.value || "" }, signal: candidatesController.signal });
      const list = data.candidates || [];
      candidatesSummary.textContent = data.total
        ? `${plural(data.total, "file")} · about ${formatSize(data.estimated_savings)} to save${data.total > list.length ? ` (showing ${list.length})` : ""}`
        : "";
      queueAll.disabled = !data.total;
      if (!list.length) {
        replace(candidatesBox, emptyState("check", "No candidates: every video is already in an efficient codec, below the thresholds, processed, or queued."));
        return;
      }
      replace(
        candidatesBox,
        dataTable(
          ["File", "Video", { label: "Size", num: true }, "Why", { label: "Est. savings", num: true }, ""],
          list.map(candidateRow),
          { id: "candidates-table" },
        ),
      );
    } catch (err) {
      if (err.name === "AbortError") return;
      if (err.status === 503) replace(candidatesBox, emptyState("warning", `No transcoder is available: ${err.message}`));
      else showError(err);
    } finally {
      candidatesBox.setAttribute("aria-busy", "false");
    }
  }

  function candidateRow(c) {
    const add = actionButton({
      label: "Add to queue",
      iconName: "plus",
      dataset: { action: "add" },
      title: "Transcode this file with the chosen profile",
      action: () => addJobs({ item_ids: [c.item_id] }),
    });
    const resolution = c.width && c.height ? `${c.width}×${c.height}` : "";
    const density = [c.bits_per_pixel ? `${c.bits_per_pixel} bits/pixel` : "", c.mb_per_hour ? `${Math.round(c.mb_per_hour)} MB/h` : ""].filter(Boolean).join(" · ");
    return h(
      "tr",
      { dataset: { itemId: String(c.item_id) } },
      h(
        "td",
        { class: "release" },
        h("div", { class: "release-title" }, h("a", { href: `#/item/${c.item_id}`, text: c.title || fileName(c.path) })),
        h("div", { class: "muted small path-text", text: c.path }),
      ),
      h("td", {}, h("div", { text: [c.video_codec, resolution, c.duration ? formatDuration(c.duration) : ""].filter(Boolean).join(" · ") }), density ? h("div", { class: "muted small", text: density }) : null),
      h("td", { class: "num", text: formatSize(c.size) }),
      h("td", { class: "small reason-cell", text: (c.reasons || []).join("; ") }),
      h("td", { class: "num savings-cell" }, h("strong", { text: formatSize(c.estimated_savings) }), c.size ? h("div", { class: "muted small", text: `~${Math.round((c.estimated_savings / c.size) * 100)}%` }) : null),
      h("td", { class: "actions" }, add),
    );
  }

  async function addJobs(body) {
    const profile = profileSelect.value;
    try {
      const result = await api("/api/transcode/jobs", { method: "POST", body: { ...body, ...(profile ? { profile } : {}) } });
      for (const job of result.added || []) upsert(job, true);
      const skipped = result.skipped || [];
      const lines = [];
      if ((result.added || []).length) lines.push(`Queued ${plural(result.added.length, "job")} with the ${profile || "default"} profile.`);
      for (const s of skipped) lines.push(`Item ${s.item_id} was not queued: ${s.reason}`);
      candidatesNote.hidden = !lines.length;
      replace(candidatesNote, lines.map((l) => h("p", { text: l })));
      await loadCandidates();
    } catch (err) {
      showError(err);
    }
  }

  profileSelect.addEventListener("change", loadCandidates);

  // ---- savings, encoders ----------------------------------------------------------------------------
  async function loadSavings() {
    try {
      const data = await api("/api/transcode/savings");
      const total = data.total || {};
      if (!total.files && !total.kept_original) {
        replace(savingsBox, emptyState("bolt", "Nothing optimised yet. Each replaced file adds what it saved here."));
        return;
      }
      const libraries = data.libraries || [];
      replace(
        savingsBox,
        h(
          "div",
          { class: "stats", id: "savings-total" },
          stat("Saved", formatSize(total.saved), "savings-saved"),
          stat("Percent", `${Number(total.percent || 0).toFixed(1)}%`, "savings-percent"),
          stat("Before", formatSize(total.size_before), "savings-before"),
          stat("After", formatSize(total.size_after), "savings-after"),
          stat("Files", `${total.files}${total.kept_original ? ` (+${total.kept_original} kept)` : ""}`, "savings-files"),
        ),
        libraries.length
          ? dataTable(
              ["Library", { label: "Files", num: true }, { label: "Before", num: true }, { label: "After", num: true }, { label: "Saved", num: true }, { label: "%", num: true }],
              libraries.map((l) =>
                h(
                  "tr",
                  { dataset: { libraryId: String(l.library_id ?? "") } },
                  h("td", { text: l.name || (l.library_id ? `Library ${l.library_id}` : "Outside any library") }),
                  h("td", { class: "num", text: `${l.files}${l.kept_original ? ` (+${l.kept_original} kept)` : ""}` }),
                  h("td", { class: "num", text: formatSize(l.size_before) }),
                  h("td", { class: "num", text: formatSize(l.size_after) }),
                  h("td", { class: "num", text: formatSize(l.saved) }),
                  h("td", { class: "num", text: `${Number(l.percent || 0).toFixed(1)}%` }),
                ),
              ),
              { id: "savings-libraries" },
            )
          : null,
      );
    } catch (err) {
      showError(err);
    } finally {
      savingsBox.setAttribute("aria-busy", "false");
    }
  }

  function stat(label, value, id) {
    return h("div", { class: "stat", id }, h("span", { class: "stat-label", text: label }), h("span", { class: "stat-value", text: value }));
  }

  async function loadEncoders() {
    try {
      const data = await api("/api/transcode/encoders");
      const transcoders = data.transcoders || [];
      if (!transcoders.length) {
        replace(encodersBox, emptyState("warning", "No transcoder is configured: enable the ffmpeg plugin (it needs ffmpeg installed)."));
        return;
      }
      replace(
        encodersBox,
        transcoders.map((t) =>
          h(
            "div",
            { class: "encoder-group", dataset: { transcoder: t.name } },
            transcoders.length > 1 ? h("h3", { class: "small muted", text: `${t.name} (${t.platform})` }) : null,
            t.error ? h("div", { class: "alert", role: "note" }, icon("warning"), h("span", { text: t.error })) : null,
            (t.encoders || []).length
              ? dataTable(
                  ["Encoder", "Codec", "Kind", "Status", "Details"],
                  sortEncoders(t.encoders).map((e) =>
                    h(
                      "tr",
                      { dataset: { encoder: e.name, status: e.status || "" } },
                      h("td", { class: "mono", text: e.name }),
                      h("td", { text: e.codec || "" }),
                      h("td", { text: e.hardware ? `Hardware${e.api ? ` (${HW_APIS[e.api] || e.api})` : ""}` : "Software" }),
                      h("td", {}, badge(ENCODER_STATUS, e.status)),
                      h("td", { class: "muted small reason" }, e.reason || (e.hardware ? "" : "runs on the CPU")),
                    ),
                  ),
                  { class: "table compact" },
                )
              : null,
          ),
        ),
      );
    } catch (err) {
      showError(err);
    } finally {
      encodersBox.setAttribute("aria-busy", "false");
    }
  }

  function sortEncoders(list) {
    const rank = { available: 0, degraded: 1, untested: 2, unavailable: 3 };
    return [...list].sort((a, b) => (rank[a.status] ?? 2) - (rank[b.status] ?? 2) || Number(a.hardware) - Number(b.hardware) || a.name.localeCompare(b.name));
  }

  // ---- live -----------------------------------------------------------------------------------------
  const refreshSavings = debounce(loadSavings, 400);
  const refreshCandidates = debounce(loadCandidates, 800);
  const refreshJobs = debounce(loadJobs, 500);
  const offEvent = hubSocket.onEvent((event) => {
    if (event.event_type === "transcode_job_updated") upsert(event.data);
    else if (event.event_type === "library_scan_finished") refreshCandidates();
  });
  const offStatus = hubSocket.onStatus((status) => {
    if (status === "connected") {
      refreshJobs();
      refreshSavings();
    }
  });
  // ETAs and "finished 3 min ago" age: redraw the text once in a while without a request.
  const timer = setInterval(() => {
    for (const row of rows.values()) if (!WORKING.has(row.job.state)) row.detail.textContent = detailText(row.job);
  }, 30000);

  loadJobs();
  loadProfiles().then(loadCandidates);
  loadSavings();
  loadEncoders();
  return () => {
    offEvent();
    offStatus();
    clearInterval(timer);
    refreshSavings.cancel();
    refreshCandidates.cancel();
    refreshJobs.cancel();
    if (controller) controller.abort();
    if (candidatesController) candidatesController.abort();
  };
}
