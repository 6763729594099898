// DVR: the tuners and what holds them, what will be recorded (and what will not, with the scheduler's
// reason), the recordings with their state, and the recording rules (list, enable / disable, delete,
// a form for a new daily, weekly, series, keyword or one-off rule with padding, priority and
// retention).
//
// Route: #/dvr
// Events: dvr_recording_updated (a recording's row), dvr_schedule_updated (upcoming and conflicts),
// dvr_lineup_updated and dvr_live_session_updated (tuners) — reloads are debounced.
import { api, showError } from "./api.js";
import { debounce, formatEpisode, formatSize, h, replace } from "./dom.js";
import { icon } from "./icons.js";
import { mediaIcon } from "./player.js";
import { hubSocket } from "./ws.js";
import { actionButton, badge, confirmButton, dataTable, emptyState, pageHead, plural } from "./acquisition.js";
import { clock, day, slotText } from "./view-guide.js";

export const RECORDING_STATES = {
  recording: ["Recording", "bad"],
  processing: ["Processing", "info"],
  done: ["Done", "ok"],
  partial: ["Partial", "warn"],
  failed: ["Failed", "bad"],
  cancelled: ["Cancelled", "muted"],
  deleted: ["Deleted", "muted"],
};
export const CONFLICT_REASONS = {
  no_tuner: ["No free tuner", "warn"],
  no_source: ["No tuner carries it", "bad"],
  alternate: ["Recorded at another time", "muted"],
  in_past: ["Too late", "muted"],
};
export const RULE_KINDS = { once: "Once", daily: "Daily", weekly: "Weekly", series: "Series", keyword: "Keyword" };
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function minutes(seconds) {
  return seconds === null || seconds === undefined ? "" : `${Math.round(Number(seconds) / 60)} min`;
}

/** One line saying what a rule records. */
export function ruleText(rule) {
  const where = rule.channel ? `on ${rule.channel}` : "on any channel";
  const hours = [rule.after ? `from ${rule.after}` : "", rule.before ? `before ${rule.before}` : ""].filter(Boolean).join(" ");
  switch (rule.kind) {
    case "once":
      return rule.start ? `${rule.title} ${where}, ${slotText(rule.start, rule.stop || rule.start + (rule.duration || 0))}` : `${rule.title} ${where}`;
    case "daily":
      return `${rule.title}: every day at ${rule.start_time} for ${minutes(rule.duration)} ${where}`;
    case "weekly":
      return `${rule.title}: ${(rule.days || []).map((d) => WEEKDAYS[d]).join(", ")} at ${rule.start_time} for ${minutes(rule.duration)} ${where}`;
    case "series":
      return `Every ${rule.new_only ? "new " : ""}airing of “${rule.title}” ${where}${hours ? ` ${hours}` : ""}`;
    case "keyword":
      return `Programmes matching “${rule.keyword}” ${where}${rule.new_only ? ", new only" : ""}${hours ? ` ${hours}` : ""}`;
    default:
      return rule.title || rule.kind;
  }
}

function when(start, stop) {
  return `${day(start)} ${clock(start)}–${clock(stop)}`;
}

export function render(main) {
  const sub = h("p", { class: "muted page-sub", id: "dvr-summary", role: "status", "aria-live": "polite", text: "Loading…" });
  const newRuleButton = h("button", { type: "button", class: "btn primary", id: "dvr-new-rule" }, icon("plus"), h("span", { text: "New rule" }));
  const replan = actionButton({ label: "Plan again", iconName: "scan", className: "btn", dataset: { action: "plan" }, title: "Work out the upcoming recordings and conflicts now", action: () => planAgain() });
  const devicesBox = h("div", { id: "dvr-devices", "aria-busy": "true" });
  const upcomingBox = h("div", { id: "dvr-upcoming", "aria-busy": "true" });
  const conflictsBox = h("div", { id: "dvr-conflicts" });
  const recordingsBox = h("div", { id: "dvr-recordings", "aria-busy": "true" });
  const rulesBox = h("div", { id: "dvr-rules", "aria-busy": "true" });
  const form = ruleForm(() => {
    form.hidden = true;
    loadRules();
  });
  form.hidden = true;
  newRuleButton.addEventListener("click", () => {
    form.hidden = !form.hidden;
    if (!form.hidden) form.querySelector("select, input").focus();
  });

  main.append(
    pageHead("DVR", sub, replan, newRuleButton),
    form,
    h("section", { "aria-labelledby": "dvr-upcoming-h" }, h("h2", { class: "section-title first", id: "dvr-upcoming-h", text: "Upcoming" }), conflictsBox, upcomingBox),
    h("section", { "aria-labelledby": "dvr-recordings-h" }, h("h2", { class: "section-title", id: "dvr-recordings-h", text: "Recordings" }), recordingsBox),
    h("section", { "aria-labelledby": "dvr-rules-h" }, h("h2", { class: "section-title", id: "dvr-rules-h", text: "Rules" }), rulesBox),
    h("section", { "aria-labelledby": "dvr-devices-h" }, h("h2", { class: "section-title", id: "dvr-devices-h", text: "Tuners" }), devicesBox),
  );

  const counts = { upcoming: 0, conflicts: 0, recording: 0, rules: 0 };
  function drawSummary() {
    const parts = [];
    if (counts.recording) parts.push(`${counts.recording} recording now`);
    parts.push(`${plural(counts.upcoming, "upcoming recording")}`);
    if (counts.conflicts) parts.push(`${plural(counts.conflicts, "conflict")}`);
    parts.push(plural(counts.rules, "rule"));
    sub.textContent = parts.join(" · ");
  }

  // ---- schedule -----------------------------------------------------------------------------------
  function drawSchedule(plan) {
    const entries = plan.entries || [];
    const conflicts = (plan.conflicts || []).filter((c) => c.reason !== "alternate");
    counts.upcoming = entries.length;
    counts.conflicts = conflicts.length;
    drawSummary();
    replace(
      conflictsBox,
      conflicts.length
        ? h(
            "div",
            { class: "alert dvr-conflicts", role: "note" },
            icon("warning"),
            h(
              "div",
              {},
              h("strong", { text: `${plural(conflicts.length, "airing")} will not be recorded` }),
              h("ul", { class: "reason-list", id: "dvr-conflict-list" }, conflicts.map((c) => h("li", { dataset: { reason: c.reason } }, badge(CONFLICT_REASONS, c.reason), " ", h("span", { class: "conflict-message", text: c.message })))),
            ),
          )
        : null,
    );
    if (!entries.length) {
      replace(upcomingBox, emptyState("history", "Nothing is scheduled. Add a rule, or pick a programme in the guide and record it."));
      return;
    }
    replace(
      upcomingBox,
      dataTable(
        ["When", "Channel", "Title", "Padding", "Tuner"],
        entries.map((e) =>
          h(
            "tr",
            { dataset: { ruleId: String(e.rule_id ?? ""), programmeId: String(e.programme_id ?? "") } },
            h("td", { class: "nowrap", text: when(e.start, e.stop) }),
            h("td", { text: e.channel }),
            h("td", { class: "release" }, h("div", { class: "release-title", text: e.title }), e.subtitle || e.season ? h("div", { class: "muted small", text: [formatEpisode(e.season, e.episode), e.subtitle].filter(Boolean).join(" · ") }) : null),
            h("td", { class: "small muted nowrap", text: `−${minutes(e.padding_before)} / +${minutes(e.padding_after)}` }),
            h("td", { class: "mono small", text: e.device_id }),
          ),
        ),
        { id: "dvr-upcoming-table" },
      ),
    );
  }

  async function loadSchedule() {
    try {
      drawSchedule(await api("/api/dvr/schedule"));
    } catch (err) {
      showError(err);
    } finally {
      upcomingBox.setAttribute("aria-busy", "false");
    }
  }

  async function planAgain() {
    try {
      drawSchedule(await api("/api/dvr/schedule", { method: "POST" }));
    } catch (err) {
      showError(err);
    }
  }

  // ---- recordings ---------------------------------------------------------------------------------
  function playLink(rec) {
    if (rec.item_id) return h("a", { class: "btn small", href: `#/item/${rec.item_id}`, dataset: { action: "play" } }, mediaIcon("play"), h("span", { text: "Play" }));
    if (rec.file_url) return h("a", { class: "btn small", href: rec.file_url, dataset: { action: "file" } }, mediaIcon("play"), h("span", { text: "File" }));
    return null;
  }

  function recordingRow(rec) {
    const code = formatEpisode(rec.season, rec.episode);
    const commercials = (rec.commercials || []).length;
    const actions = [playLink(rec)];
    if (rec.state === "recording") {
      actions.push(actionButton({ label: "Stop", iconName: "close", dataset: { action: "stop" }, title: "End it now; what was recorded is kept", action: async () => {
        try {
          await api(`/api/dvr/recordings/${rec.id}/stop`, { method: "POST" });
          refreshRecordings();
        } catch (err) {
          showError(err);
        }
      } }));
    }
    actions.push(confirmButton({ label: "Delete", confirmLabel: "Delete file?", dataset: { action: "delete" }, title: "Delete the recording and its file", action: async () => {
      try {
        await api(`/api/dvr/recordings/${rec.id}`, { method: "DELETE" });
        refreshRecordings();
      } catch (err) {
        showError(err);
      }
    } }));
    return h(
      "tr",
      { dataset: { recordingId: String(rec.id), state: rec.state } },
      h(
        "td",
        { class: "release" },
        h("div", { class: "release-title", text: rec.title }),
        code || rec.subtitle ? h("div", { class: "muted small", text: [code, rec.subtitle].filter(Boolean).join(" · ") }) : null,
        rec.message ? h("div", { class: rec.state === "failed" ? "bad-text" : "muted small", text: rec.message }) : null,
      ),
      h("td", { text: rec.channel }),
      h("td", { class: "nowrap small", text: when(rec.start, rec.stop) }),
      h("td", {}, badge(RECORDING_STATES, rec.state, { dataset: { state: rec.state } }), (rec.gaps || []).length ? h("div", { class: "muted small", text: plural(rec.gaps.length, "gap") }) : null),
      h("td", { class: "num", text: formatSize(rec.size) }),
      h("td", { class: "num", text: rec.commercials ? String(commercials) : "" }),
      h("td", { class: "actions" }, actions),
    );
  }

  async function loadRecordings() {
    try {
      const list = (await api("/api/dvr/recordings")).recordings || [];
      counts.recording = list.filter((r) => r.state === "recording").length;
      drawSummary();
      replace(
        recordingsBox,
        list.length
          ? dataTable(["Title", "Channel", "Aired", "State", { label: "Size", num: true }, { label: "Breaks", num: true }, ""], list.map(recordingRow), { id: "dvr-recordings-table" })
          : emptyState("video", "No recordings yet."),
      );
    } catch (err) {
      showError(err);
    } finally {
      recordingsBox.setAttribute("aria-busy", "false");
    }
  }

  // ---- rules --------------------------------------------------------------------------------------
  function ruleRow(rule) {
    const enabled = h("input", { type: "checkbox", checked: rule.enabled !== false, "aria-label": `Rule ${rule.id} enabled`, dataset: { action: "toggle" } });
    enabled.addEventListener("change", async () => {
      enabled.disabled = true;
      try {
        await api(`/api/dvr/rules/${rule.id}`, { method: "PUT", body: { enabled: enabled.checked } });
        loadRules();
      } catch (err) {
        enabled.checked = !enabled.checked;
        showError(err);
      } finally {
        enabled.disabled = false;
      }
    });
    const keep = [rule.keep_last ? `last ${rule.keep_last}` : "", rule.keep_days ? `${rule.keep_days} days` : ""].filter(Boolean).join(", ") || "all";
    const padding = rule.padding_before === null && rule.padding_after === null ? "default" : `−${minutes(rule.padding_before ?? 0)} / +${minutes(rule.padding_after ?? 0)}`;
    return h(
      "tr",
      { dataset: { ruleId: String(rule.id), kind: rule.kind }, class: rule.enabled === false ? "unmonitored" : null },
      h("td", {}, h("span", { class: "badge info", text: RULE_KINDS[rule.kind] || rule.kind })),
      h("td", { class: "rule-text", text: ruleText(rule) }),
      h("td", { class: "small nowrap", text: padding }),
      h("td", { class: "num", text: String(rule.priority ?? 0) }),
      h("td", { class: "small", text: keep }),
      h("td", {}, h("label", { class: "check" }, enabled, h("span", { class: "sr-only", text: "enabled" }))),
      h("td", { class: "actions" }, confirmButton({ label: "Delete", confirmLabel: "Delete rule?", dataset: { action: "delete" }, title: "Delete the rule (its recordings stay)", action: async () => {
        try {
          await api(`/api/dvr/rules/${rule.id}`, { method: "DELETE" });
          loadRules();
        } catch (err) {
          showError(err);
        }
      } })),
    );
  }

  async function loadRules() {
    try {
      const rules = (await api("/api/dvr/rules")).rules || [];
      counts.rules = rules.length;
      drawSummary();
      replace(
        rulesBox,
        rules.length
          ? dataTable(["Kind", "Records", "Padding", { label: "Priority", num: true }, "Keeps", "On", ""], rules.map(ruleRow), { id: "dvr-rules-table" })
          : emptyState("history", "No rules. “New rule” above, or “Record” on a programme in the guide."),
      );
    } catch (err) {
      showError(err);
    } finally {
      rulesBox.setAttribute("aria-busy", "false");
    }
  }

  // ---- tuners -------------------------------------------------------------------------------------
  async function loadDevices() {
    try {
      const devices = (await api("/api/dvr/devices")).devices || [];
      replace(
        devicesBox,
        devices.length
          ? dataTable(
              ["Device", "Model", "In use", "Leases"],
              devices.map((d) =>
                h(
                  "tr",
                  { dataset: { deviceId: d.device_id } },
                  h("td", {}, h("div", { text: d.name || d.device_id }), h("div", { class: "muted small mono", text: d.device_id }), d.available ? null : h("div", { class: "bad-text", text: `Unavailable: ${d.reason || "no answer"}` })),
                  h("td", { class: "small", text: [d.manufacturer, d.model].filter(Boolean).join(" ") }),
                  h("td", { class: "nowrap", text: `${(d.leases || []).length} of ${d.tuner_count}` }),
                  h("td", { class: "small" }, (d.leases || []).map((l) => h("div", { dataset: { purpose: l.purpose } }, badge({ recording: ["Recording", "bad"], live: ["Live TV", "info"] }, l.purpose), ` ${l.channel} ${l.title || l.holder}`))),
                ),
              ),
              { id: "dvr-devices-table" },
            )
          : emptyState("devices", "No tuners: configure the hdhomerun or iptv plugin."),
      );
    } catch (err) {
      showError(err);
    } finally {
      devicesBox.setAttribute("aria-busy", "false");
    }
  }

  const refreshRecordings = debounce(loadRecordings, 300);
  const refreshSchedule = debounce(loadSchedule, 300);
  const refreshDevices = debounce(loadDevices, 300);
  const offEvent = hubSocket.onEvent((event) => {
    const type = event.event_type;
    if (type === "dvr_recording_updated") {
      refreshRecordings();
      refreshDevices();
    } else if (type === "dvr_schedule_updated") refreshSchedule();
    else if (type === "dvr_lineup_updated" || type === "dvr_live_session_updated") refreshDevices();
  });
  const offStatus = hubSocket.onStatus((status) => {
    if (status === "connected") {
      refreshRecordings();
      refreshSchedule();
      refreshDevices();
    }
  });

  loadSchedule();
  loadRecordings();
  loadRules();
  loadDevices();
  return () => {
    offEvent();
    offStatus();
    refreshRecordings.cancel();
    refreshSchedule.cancel();
    refreshDevices.cancel();
  };
}

// ---- the new-rule form ------------------------------------------------------------------------------

function ruleForm(onAdded) {
  const field = (label, control, forKinds, extra = {}) => h("label", { class: "field", dataset: { for: forKinds }, ...extra }, h("span", { class: "field-label", text: label }), control);
  const kind = h("select", { name: "kind", id: "rule-kind" }, ["series", "daily", "weekly", "keyword", "once"].map((k) => h("option", { value: k, text: RULE_KINDS[k] })));
  const title = h("input", { name: "title", id: "rule-title", autocomplete: "off", placeholder: "e.g. The News" });
  const keyword = h("input", { name: "keyword", id: "rule-keyword", autocomplete: "off", placeholder: "e.g. football" });
  const channel = h("select", { name: "channel", id: "rule-channel" }, h("option", { value: "", text: "Any channel" }));
  const startTime = h("input", { type: "time", name: "start_time", id: "rule-start-time", value: "20:00" });
  const startAt = h("input", { type: "datetime-local", name: "start", id: "rule-start" });
  const duration = h("input", { type: "number", name: "duration", id: "rule-duration", min: "1", value: "60", inputmode: "numeric" });
  const after = h("input", { type: "time", name: "after", id: "rule-after" });
  const before = h("input", { type: "time", name: "before", id: "rule-before" });
  const days = h(
    "div",
    { class: "chips-line", id: "rule-days", role: "group", "aria-label": "Days" },
    WEEKDAYS.map((name, i) => h("label", { class: "check" }, h("input", { type: "checkbox", value: String(i), checked: i < 5 }), h("span", { text: name }))),
  );
  const padBefore = h("input", { type: "number", name: "padding_before", id: "rule-padding-before", min: "0", step: "0.5", placeholder: "default" });
  const padAfter = h("input", { type: "number", name: "padding_after", id: "rule-padding-after", min: "0", step: "0.5", placeholder: "default" });
  const priority = h("input", { type: "number", name: "priority", id: "rule-priority", step: "1", value: "0" });
  const keepLast = h("input", { type: "number", name: "keep_last", id: "rule-keep-last", min: "1", placeholder: "all" });
  const keepDays = h("input", { type: "number", name: "keep_days", id: "rule-keep-days", min: "1", placeholder: "forever" });
  const newOnly = h("input", { type: "checkbox", name: "new_only", id: "rule-new-only" });
  const note = h("div", { class: "alert", id: "rule-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "btn primary", id: "rule-submit" }, icon("plus"), h("span", { text: "Add rule" }));

  const form = h(
    "form",
    { class: "panel add-form", id: "dvr-rule-form", "aria-label": "New recording rule" },
    h("h2", { text: "New recording rule" }),
    h(
      "div",
      { class: "form-grid" },
      field("Kind", kind, "all"),
      field("Title", title, "once daily weekly series", { class: "field wide" }),
      field("Keyword", keyword, "keyword", { class: "field wide" }),
      field("Channel", channel, "all"),
      field("Starts at (local)", startTime, "daily weekly"),
      field("Starts (local)", startAt, "once"),
      field("Duration (minutes)", duration, "once daily weekly"),
      field("Days", days, "weekly", { class: "field wide" }),
      field("Airing from (local)", after, "series keyword"),
      field("Airing before (local)", before, "series keyword"),
      field("Padding before (min)", padBefore, "all"),
      field("Padding after (min)", padAfter, "all"),
      field("Priority (higher wins)", priority, "all"),
      field("Keep the last", keepLast, "all"),
      field("Keep for days", keepDays, "all"),
    ),
    h("div", { class: "form-foot" }, h("label", { class: "check", dataset: { for: "series keyword" } }, newOnly, h("span", { text: "New episodes only (skip repeats and episodes already recorded)" })), submit),
    note,
  );

  function sync() {
    for (const el of form.querySelectorAll("[data-for]")) {
      const kinds = el.dataset.for.split(" ");
      el.hidden = !(kinds.includes("all") || kinds.includes(kind.value));
    }
    const anyOption = channel.querySelector('option[value=""]');
    anyOption.disabled = ["once", "daily", "weekly"].includes(kind.value);
    if (anyOption.disabled && channel.value === "" && channel.options.length > 1) channel.selectedIndex = 1;
  }
  kind.addEventListener("change", sync);

  api("/api/dvr/lineup")
    .then((data) => {
      for (const c of data.channels || []) channel.append(h("option", { value: c.number, text: `${c.number} ${c.name}` }));
      sync();
    })
    .catch(showError);
  sync();

  const num = (input) => (input.value === "" ? null : Number(input.value));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const k = kind.value;
    const body = { kind: k, priority: num(priority) ?? 0 };
    if (k !== "keyword") body.title = title.value.trim();
    else body.title = keyword.value.trim();
    if (k === "keyword") body.keyword = keyword.value.trim();
    if (channel.value) body.channel = channel.value;
    if (k === "daily" || k === "weekly") {
      body.start_time = startTime.value;
      body.duration = (num(duration) ?? 0) * 60;
    }
    if (k === "weekly") body.days = [...days.querySelectorAll("input:checked")].map((i) => Number(i.value));
    if (k === "once") {
      const at = startAt.value ? new Date(startAt.value).getTime() / 1000 : NaN;
      if (!Number.isFinite(at)) {
        fail("Choose when the recording starts.");
        return;
      }
      body.start = at;
      body.stop = at + (num(duration) ?? 0) * 60;
    }
    if (k === "series" || k === "keyword") {
      body.new_only = newOnly.checked;
      if (after.value) body.after = after.value;
      if (before.value) body.before = before.value;
    }
    if (num(padBefore) !== null) body.padding_before = num(padBefore) * 60;
    if (num(padAfter) !== null) body.padding_after = num(padAfter) * 60;
    if (num(keepLast) !== null) body.keep_last = num(keepLast);
    if (num(keepDays) !== null) body.keep_days = num(keepDays);
    submit.disabled = true;
    try {
      await api("/api/dvr/rules", { method: "POST", body });
      fail(null);
      form.reset();
      sync();
      onAdded();
    } catch (err) {
      fail(err.message);
    } finally {
      submit.disabled = false;
    }
  });

  function fail(text) {
    note.hidden = !text;
    replace(note, text ? [icon("warning"), h("span", { text })] : []);
  }
  return form;
}
