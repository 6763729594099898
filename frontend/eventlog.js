// The page-wide event log: the last MAX_EVENTS hub events since the dashboard was opened, newest
// first, so the Events page shows history even when opened later.
import { hubSocket } from "./ws.js";

const MAX_EVENTS = 500;
const events = [];
const listeners = new Set();

/** Start recording (once, at boot). */
export function startEventLog() {
  hubSocket.onEvent((event) => {
    events.unshift(event);
    if (events.length > MAX_EVENTS) events.length = MAX_EVENTS;
    for (const fn of listeners) fn(event);
  });
}

/** The recorded events, newest first (a copy). */
export function recentEvents() {
  return events.slice();
}

/** Forget the recorded events. */
export function clearEvents() {
  events.length = 0;
}

/** Call `fn(event)` for each new event; returns an unsubscribe function. */
export function onLoggedEvent(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
