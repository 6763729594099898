// The hub's WebSocket (/api/websocket): one connection for the whole page, subscribed to all
// events, reconnecting with exponential backoff (1 s doubling to 30 s, with jitter) when it drops.
//
// Listeners: onEvent(fn) gets each event {event_type, data, context, time_fired};
// onStatus(fn) gets "connecting" | "connected" | "disconnected"; a reconnect after a drop also
// calls onStatus("connected") so views can refetch what they may have missed.

const SUBSCRIBE_ID = 1;
const PING_EVERY_MS = 30000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

class HubSocket {
  constructor() {
    this.eventListeners = new Set();
    this.statusListeners = new Set();
    this.status = "disconnected";
    this.socket = null;
    this.backoff = BACKOFF_MIN_MS;
    this.nextId = SUBSCRIBE_ID + 1;
    this.pingTimer = null;
    this.retryTimer = null;
  }

  /** Open the connection (idempotent). */
  start() {
    if (this.socket) return;
    this.connect();
  }

  connect() {
    clearTimeout(this.retryTimer);
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    this.setStatus("connecting");
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${window.location.host}/api/websocket`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ id: SUBSCRIBE_ID, type: "subscribe_events" }));
    });
    socket.addEventListener("message", (message) => this.handle(message.data));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearInterval(this.pingTimer);
      this.setStatus("disconnected");
      this.scheduleReconnect();
    });
    // "error" is always followed by "close"; nothing to do here.
  }

  handle(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (msg.id === SUBSCRIBE_ID && msg.type === "result") {
      if (msg.success) {
        this.backoff = BACKOFF_MIN_MS;
        this.setStatus("connected");
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_EVERY_MS);
      } else {
        console.error("subscribe_events refused", msg);
      }
      return;
    }
    if (msg.type === "event" && msg.event) {
      for (const fn of this.eventListeners) {
        try {
          fn(msg.event);
        } catch (err) {
          console.error("event listener failed", err);
        }
      }
    }
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ id: this.nextId++, ...message }));
    }
  }

  scheduleReconnect() {
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  setStatus(status) {
    this.status = status;
    for (const fn of this.statusListeners) fn(status);
  }

  /** Call `fn(event)` for every hub event; returns an unsubscribe function. */
  onEvent(fn) {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  /** Call `fn(status)` on each connection status change; returns an unsubscribe function. */
  onStatus(fn) {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }
}

export const hubSocket = new HubSocket();
