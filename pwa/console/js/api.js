// HTTP calls of the console to /api/v1. The bearer token lives in sessionStorage: it is gone when the
// tab closes, no other site can send it (no cookie), and the phone app's token store is left alone.

export const BASE = '/api/v1';
const KEY = 'safegrid.console.token';
const TIMEOUT_MS = 30000;

export function getToken() {
  try {
    const t = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (!t || !t.access_token) return null;
    if (t.expires_at && new Date(t.expires_at).getTime() < Date.now()) return null;
    return t;
  } catch {
    return null;
  }
}

export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, JSON.stringify(t));
  else sessionStorage.removeItem(KEY);
}

let onUnauthorized = () => {};
/** Called when a signed-in call answers 401 (the token expired or was revoked). */
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

function authHeader() {
  const t = getToken();
  return t ? { Authorization: `Bearer ${t.access_token}` } : {};
}

/**
 * Call the API. Resolves to {status, ok, data, problem}; status 0 when no reply came. Never throws.
 */
export async function call(path, { method = 'GET', json, form, auth = true, timeoutMs = TIMEOUT_MS } = {}) {
  const headers = { Accept: 'application/json, application/problem+json', ...(auth ? authHeader() : {}) };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = new URLSearchParams(form);
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  let res = null;
  let data = null;
  try {
    res = await fetch(BASE + path, { method, headers, body, signal: ctl.signal, cache: 'no-store', credentials: 'omit' });
    const type = res.headers.get('content-type') || '';
    if (type.includes('json')) data = await res.json().catch(() => null);
  } catch {
    res = null;
  } finally {
    clearTimeout(timer);
  }
  if (!res) return { status: 0, ok: false, data: null, problem: { code: 'network' } };
  if (res.status === 401 && auth) onUnauthorized();
  return res.ok
    ? { status: res.status, ok: true, data, problem: null }
    : { status: res.status, ok: false, data: null, problem: data || { title: res.statusText } };
}

export const get = (path) => call(path);
export const post = (path, json) => call(path, { method: 'POST', json });
export const put = (path, json) => call(path, { method: 'PUT', json });

/** A query string from an object, leaving out empty values. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** An image served behind the bearer header, as an object URL (or null). */
export async function photoUrl(id, thumbnail = true) {
  try {
    const res = await fetch(`${BASE}/photos/${encodeURIComponent(id)}${thumbnail ? '/thumbnail' : ''}`, {
      headers: authHeader(),
      credentials: 'omit',
    });
    if (res.status === 401) onUnauthorized();
    return res.ok ? URL.createObjectURL(await res.blob()) : null;
  } catch {
    return null;
  }
}

function filenameOf(res, fallback) {
  const cd = res.headers.get('content-disposition') || '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      /* fall through */
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(cd);
  return plain ? plain[1] : fallback;
}

/**
 * Download a file the API serves behind the bearer header (a link cannot carry it): fetched here, saved
 * as a Blob. Resolves to {ok, status, problem, filename}.
 */
export async function download(path, fallbackName) {
  let res;
  try {
    res = await fetch(BASE + path, { headers: authHeader(), credentials: 'omit', cache: 'no-store' });
  } catch {
    return { ok: false, status: 0, problem: { code: 'network' } };
  }
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    const problem = await res.json().catch(() => ({ title: res.statusText }));
    return { ok: false, status: res.status, problem };
  }
  const blob = await res.blob();
  const filename = filenameOf(res, fallbackName);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return { ok: true, status: res.status, filename, size: blob.size };
}

/** PUT a photo (multipart `file`) under an id made by the caller; a retry with the same id is harmless. */
/** PUT a photo: the file, with its evidence fields and the browser's thumbnail of it where there are. */
export async function putPhoto(id, file, { thumb = null, fields = {} } = {}) {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('file', file, file.name || `${id}.jpg`);
  if (thumb) fd.append('thumbnail', thumb, `${id}.thumb.jpg`);
  try {
    const res = await fetch(`${BASE}/photos/${encodeURIComponent(id)}`, { method: 'PUT', headers: { Accept: 'application/json, application/problem+json', ...authHeader() }, body: fd, credentials: 'omit' });
    if (res.status === 401) onUnauthorized();
    const data = await res.json().catch(() => null);
    return res.ok ? { status: res.status, ok: true, data, problem: null } : { status: res.status, ok: false, data: null, problem: data || { title: res.statusText } };
  } catch {
    return { status: 0, ok: false, data: null, problem: { code: 'network' } };
  }
}
