// HTTP calls to /api/v1 for the page and the service worker. Never called inside an IndexedDB
// transaction: callers read what they need first, call the network, then write the outcome.

import { getMeta } from './db.js';

export const BASE = '/api/v1';

// A request with no reply by then counts as "no network" (status 0) and is retried later: on a weak
// link a stalled connection must not hold the outbox forever.
export const TIMEOUT_MS = 30000;
// An upload is not limited by its length: on a valley's weak uplink (5 kB/s) a 700 kB photo takes two and a
// half minutes, and a fixed limit would cut it off and start it again from zero, for ever. It ends when
// no byte has gone out for UPLOAD_STALL_MS, or, all sent, no reply came within TIMEOUT_MS.
export const UPLOAD_STALL_MS = 45000;
// Where no progress can be seen (fetch, in the service worker): long enough for 2 kB/s.
export const UPLOAD_MIN_BYTES_PER_S = 2000;

/**
 * Whether an upload should be given up now. `lastProgressAt`: when a byte last went out (or the start);
 * `sentAt`: when the last byte was handed to the network (null while sending); `bytes`: the upload's
 * size. "Handed to the network" is not "received": on a slow link a phone's buffers can still hold a few
 * hundred kB, so the wait for the reply grows with the upload (up to 512 kB at 2 kB/s). Pure, for the tests.
 */
export function uploadStalled({ now, lastProgressAt, sentAt, bytes = 0 }) {
  if (sentAt != null) return now - sentAt > TIMEOUT_MS + (Math.min(bytes, 512000) / UPLOAD_MIN_BYTES_PER_S) * 1000;
  return now - lastProgressAt > UPLOAD_STALL_MS;
}

/** The whole-request limit where progress cannot be seen. */
export function uploadLimitMs(bytes) {
  return Math.max(120000, Math.ceil((bytes / UPLOAD_MIN_BYTES_PER_S) * 1000));
}

/** The bearer token, read from IndexedDB on every call: the page, other tabs and the service worker
 * share it, and a sign-in in any of them must be seen by all (a copy kept in memory would go on
 * sending an expired token, or the previous user's). */
export async function token() {
  const t = await getMeta('token');
  return t && t.access_token ? t.access_token : null;
}

async function parse(res) {
  const type = res.headers.get('content-type') || '';
  if (type.includes('json')) {
    try {
      return await res.json();
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Call the API. Resolves to {status, ok, data, problem}; status 0 when there was no reply
 * (offline, aborted, DNS…). Never throws for HTTP or network errors.
 */
export async function call(
  path,
  { method = 'GET', json, form, body, headers = {}, auth = true, signal, timeoutMs = TIMEOUT_MS } = {},
) {
  const h = { Accept: 'application/json, application/problem+json', ...headers };
  if (auth) {
    const t = await token();
    if (t) h.Authorization = `Bearer ${t}`;
  }
  let payload = body;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  } else if (form) {
    payload = new URLSearchParams(form);
  }
  const ctl = new AbortController();
  const stop = () => ctl.abort();
  const timer = setTimeout(stop, timeoutMs);
  if (signal) {
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  }
  let res;
  let data;
  try {
    res = await fetch(BASE + path, { method, headers: h, body: payload, signal: ctl.signal, cache: 'no-store' });
    data = await parse(res);
  } catch (e) {
    res = null;
    data = e;
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', stop);
  }
  // No reply, or the reply's body cut off by the timeout: nothing is known, so it is "no network".
  if (!res || ctl.signal.aborted) {
    return { status: 0, ok: false, data: null, problem: { detail: '网络不通', error: String(data || 'timeout') } };
  }
  return res.ok
    ? { status: res.status, ok: true, data, problem: null }
    : { status: res.status, ok: false, data: null, problem: data || { title: res.statusText } };
}

/** All pages of a cursor-paginated list. */
export async function listAll(path, params = {}, { maxPages = 50 } = {}) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const q = new URLSearchParams({ ...params, limit: '200' });
    if (cursor) q.set('cursor', cursor);
    const r = await call(`${path}?${q}`);
    if (!r.ok) return { ...r, items };
    items.push(...(r.data.items || []));
    cursor = r.data.next_cursor;
    if (!cursor) return { status: r.status, ok: true, items };
  }
  return { status: 200, ok: true, items };
}

/**
 * PUT a photo as multipart `file`, with its evidence as form fields (`captured_at`, `lat`, `lng`,
 * `accuracy_m`: strings, only those known) and the phone's own thumbnail of it as `thumbnail`, when there
 * is one. Uses XMLHttpRequest in a page (upload progress), fetch in a worker. Resolves to
 * {status, ok, data, problem}.
 */
export async function putPhoto(id, blob, onProgress, fields = {}, thumb = null, signal = null) {
  const path = `${BASE}/photos/${encodeURIComponent(id)}`;
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('file', blob, `${id}.jpg`);
  if (thumb) fd.append('thumbnail', thumb, `${id}.thumb.jpg`);
  const bytes = blob.size + (thumb ? thumb.size : 0);
  const t = await token();
  // Checked after the await: an abort while the token was read would otherwise go unheard.
  if (signal && signal.aborted) return { status: 0, ok: false, data: null, problem: { detail: '网络不通' } };
  if (typeof XMLHttpRequest === 'undefined') {
    return call(`/photos/${encodeURIComponent(id)}`, { method: 'PUT', body: fd, signal, timeoutMs: uploadLimitMs(bytes) });
  }
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', path);
    if (t) xhr.setRequestHeader('Authorization', `Bearer ${t}`);
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    const watch = { lastProgressAt: Date.now(), sentAt: null, bytes, stalled: false };
    const watchdog = setInterval(() => {
      if (!uploadStalled({ now: Date.now(), ...watch })) return;
      watch.stalled = true;
      xhr.abort();
    }, 1000);
    xhr.upload.onprogress = (e) => {
      watch.lastProgressAt = Date.now();
      if (onProgress) onProgress(e.loaded, e.total);
    };
    xhr.upload.onload = () => {
      watch.sentAt = Date.now();
    };
    const fail = () => {
      clearInterval(watchdog);
      if (signal) signal.removeEventListener('abort', cancel);
      resolve({ status: 0, ok: false, data: null, problem: { detail: watch.stalled ? '网络太慢，上传中断' : '网络不通' } });
    };
    xhr.onerror = fail;
    xhr.ontimeout = fail;
    xhr.onabort = fail;
    const cancel = () => xhr.abort();
    if (signal) signal.addEventListener('abort', cancel, { once: true });
    xhr.onload = () => {
      clearInterval(watchdog);
      if (signal) signal.removeEventListener('abort', cancel);
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      const ok = xhr.status >= 200 && xhr.status < 300;
      resolve({ status: xhr.status, ok, data: ok ? data : null, problem: ok ? null : data || { title: xhr.statusText } });
    };
    xhr.send(fd);
  });
}

/** An image the API serves behind the bearer header, as a Blob (or null). */
export async function photoBlob(id, thumbnail = true) {
  const t = await token();
  try {
    const res = await fetch(`${BASE}/photos/${encodeURIComponent(id)}${thumbnail ? '/thumbnail' : ''}`, {
      headers: t ? { Authorization: `Bearer ${t}` } : {},
    });
    return res.ok ? await res.blob() : null;
  } catch {
    return null;
  }
}

/** A file the API serves behind the bearer header (a PDF notice), as a Blob; null when it cannot be had. */
/** A file from the server: `{ blob }`, or `{ blob: null, status }` (status 0: the network failed). */
export async function fileBlob(path) {
  const t = await token();
  try {
    const res = await fetch(BASE + path, { headers: t ? { Authorization: `Bearer ${t}` } : {}, cache: 'no-store' });
    return res.ok ? { blob: await res.blob(), status: res.status } : { blob: null, status: res.status };
  } catch {
    return { blob: null, status: 0 };
  }
}
