// The hub's HTTP API: JSON in, JSON out; errors arrive as {"error": "message"} with a 4xx/5xx status.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/**
 * Call the API. `path` starts with "/api/". `params` become the query string (empty values are
 * dropped). Returns the parsed JSON body. Throws ApiError with the server's message (or the HTTP
 * status text, or a network error message).
 */
export async function api(path, { method = "GET", params = null, body = undefined, signal } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, String(value));
  }
  const init = { method, headers: { Accept: "application/json" }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(`Cannot reach the hub (${method} ${url.pathname}): ${err.message}`, 0);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const message = data && typeof data.error === "string" ? data.error : response.statusText || "request failed";
    throw new ApiError(`${method} ${url.pathname}: ${message} (HTTP ${response.status})`, response.status);
  }
  return data;
}

// ---- the error banner -----------------------------------------------------------------------------

/** Show `message` (string or Error) in the page's error banner. Aborted requests are ignored. */
export function showError(message) {
  if (message && message.name === "AbortError") return;
  const banner = document.getElementById("banner");
  const text = document.getElementById("banner-text");
  if (!banner || !text) return;
  text.textContent = message instanceof Error ? message.message : String(message);
  banner.hidden = false;
  console.error(message);
}

/** Hide the error banner. */
export function clearError() {
  const banner = document.getElementById("banner");
  if (banner) banner.hidden = true;
}
