// The hub's API: every data call goes through `api`, with the bearer token.
// The token comes from the URL fragment (#token=...) once, then from localStorage.
// A 401 asks for a token (the "unauthorized" event); other refusals throw ApiError
// with the hub's {"detail": ...}, for the page to show.

const KEY = "headwater.token";
export const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, detail, path) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
    this.path = path;
  }
}

/** Take #token=... out of the URL (into localStorage); answers the rest of the hash. */
export function adoptTokenFromHash() {
  const hash = location.hash.replace(/^#/, "");
  const params = new URLSearchParams(hash.startsWith("token=") ? hash : "");
  const token = params.get("token");
  if (token) {
    setToken(token);
    history.replaceState(null, "", location.pathname + location.search + "#/flow");
  }
}

export function token() {
  return localStorage.getItem(KEY) || "";
}

export function setToken(value) {
  if (value) localStorage.setItem(KEY, value.trim());
  else localStorage.removeItem(KEY);
}

function headers(extra = {}) {
  const out = { ...extra };
  const value = token();
  if (value) out.Authorization = `Bearer ${value}`;
  return out;
}

/** The hub's refusal: its `detail` and the whole body (422s list `errors`). */
async function refusal(response, path) {
  const text = await response.text();
  let body = null;
  let detail = text || response.statusText;
  try {
    body = JSON.parse(text);
    detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
  } catch {
    /* not JSON: the text is the detail */
  }
  const error = new ApiError(response.status, detail, path);
  error.body = body;
  return error;
}

/**
 * Call the API: `api("/status")`, `api(path, {method: "POST", body, as: "text"|"blob"})`.
 * A body that is a string is sent as is (with `contentType`), anything else as JSON.
 */
export async function api(path, { method = "GET", body, contentType, as = "json", raw = false } = {}) {
  const init = { method, headers: headers() };
  if (body !== undefined) {
    const text = typeof body === "string";
    init.body = text ? body : JSON.stringify(body);
    init.headers["Content-Type"] = contentType || (text ? "text/plain" : "application/json");
  }
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch (err) {
    throw new ApiError(0, `the hub cannot be reached (${err.message}); is it running?`, path);
  }
  if (response.status === 401) {
    const error = await refusal(response, path);
    window.dispatchEvent(new CustomEvent("unauthorized", { detail: error.detail }));
    throw error;
  }
  if (!response.ok) throw await refusal(response, path);
  if (raw) return response;
  if (as === "text") return response.text();
  if (as === "blob") return response.blob();
  return response.json();
}

/** The file name a Content-Disposition header gives, or `fallback`. */
export function filenameOf(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const exact = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (exact) return decodeURIComponent(exact[1]);
  const plain = /filename="([^"]+)"/i.exec(header);
  return plain ? plain[1] : fallback;
}
