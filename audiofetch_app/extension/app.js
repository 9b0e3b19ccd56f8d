/* Talking to the AudioFetch app: where it is, its token (LAN only), and its REST API.
 * Loaded by the popup, the options page and the background worker.
 *
 * Settings (chrome.storage.local): `address` (default http://127.0.0.1:8765) and, for an app
 * shared on the LAN, `token` (from logging in on the options page; the password is never
 * kept).
 */
const AF_DEFAULT_ADDRESS = "http://127.0.0.1:8765";
const AF_TIMEOUT_MS = 30000;
const afStorage = (typeof browser !== "undefined" && browser.storage) ? browser : chrome;

async function afSettings() {
  const got = await afStorage.storage.local.get({address: AF_DEFAULT_ADDRESS, token: ""});
  got.address = (got.address || AF_DEFAULT_ADDRESS).replace(/\/+$/, "");
  return got;
}

async function afSaveSettings(changes) {
  await afStorage.storage.local.set(changes);
}

/* One sentence for an app that does not answer. */
function afNotRunning(address) {
  return `AudioFetch is not running at ${address}: open AudioFetch (or run “audiofetch ` +
    `serve”), then try again.`;
}

class AfError extends Error {}

/* A request to the app; resolves to the JSON answer, rejects with an AfError whose message
 * is one sentence (the app's own `detail`, or why the app could not be reached). */
async function afApi(path, {method = "GET", body = null, settings = null} = {}) {
  const {address, token} = settings || await afSettings();
  const headers = {};
  if (body !== null) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), AF_TIMEOUT_MS);
  let answer;
  try {
    answer = await fetch(address + path, {method, headers, signal: abort.signal,
      body: body === null ? null : JSON.stringify(body)});
  } catch (e) {
    throw new AfError(afNotRunning(address));
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try { data = await answer.json(); } catch (e) { data = null; }
  if (answer.status === 401 && path !== "/api/auth/login") {
    throw new AfError("AudioFetch asks for its password: log in on this extension's " +
      "options page.");
  }
  if (!answer.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail :
      `AudioFetch answered ${answer.status}.`;
    throw new AfError(detail);
  }
  return data;
}

/* What to send for a page: a Space link as it is; else the page with what it plays. */
function afPreviewRequest(collected) {
  if (collected.space) return {url: collected.space, kind: "auto"};
  return {url: collected.url, kind: "page",
    options: {seen: collected.media.slice(0, 500), name: collected.title || null}};
}

/* Follow job events (the app's server-sent events) until `stop()`; calls onJob(job). */
function afFollow(onJob, settings) {
  const abort = new AbortController();
  (async () => {
    const {address, token} = settings || await afSettings();
    const headers = token ? {authorization: `Bearer ${token}`} : {};
    try {
      const answer = await fetch(`${address}/api/events`, {headers, signal: abort.signal});
      const reader = answer.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, {stream: true});
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split("\n").filter((l) => l.startsWith("data: "))
            .map((l) => l.slice(6)).join("\n");
          if (data) onJob(JSON.parse(data));
        }
      }
    } catch (e) { /* stopped, or the app went away */ }
  })();
  return () => abort.abort();
}

if (typeof module !== "undefined") module.exports = {afPreviewRequest};
