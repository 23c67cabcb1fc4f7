// The outbox engine: sends saved work to the server, photos first, exactly once.
// Runs in the page and, for Background Sync, in the service worker (no DOM here).
//
// Each step reads what it needs from IndexedDB (one short transaction), then talks to the network
// (no transaction open), then writes the outcome (another short transaction).

import { call, putPhoto } from './api.js';
import * as db from './db.js';
import { evidenceFields } from './exif.js';
import * as ob from './outbox.js';

const LOCK = 'safegrid-outbox';
const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('safegrid-sync');
const listeners = new Set();

/** Subscribe to outbox changes: {type: 'changed' | 'progress' | 'auth' | 'synced', ...}. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notifyLocal(msg) {
  for (const fn of listeners) {
    try {
      fn(msg);
    } catch (e) {
      console.error(e);
    }
  }
}

export function emit(msg) {
  notifyLocal(msg);
  if (channel) channel.postMessage(msg);
}

if (channel) channel.onmessage = (e) => notifyLocal({ ...e.data, remote: true });

let seqCounter = 0;

/** A new outbox item (not yet stored). */
export function newItem({ kind, title, method = 'PUT', path, body, photo_ids = [], depends_on = [], ref = null }) {
  seqCounter = (seqCounter + 1) % 1000;
  return {
    id: crypto.randomUUID(),
    kind,
    title,
    method,
    path,
    body,
    ref,
    photo_ids,
    photos_done: [],
    depends_on,
    seq: Date.now() * 1000 + seqCounter,
    created_at: new Date().toISOString(),
    state: ob.STATES.PENDING,
    attempts: 0,
    next_at: null,
    error: null,
    result: null,
  };
}

export async function items() {
  const all = await db.getAll('outbox');
  return all.sort(ob.bySeq);
}

export async function summary() {
  return ob.summarize(await db.getAll('outbox'));
}

/** Rewrite every item with fn (one transaction). */
async function mapAll(fn) {
  await db.run('outbox', 'readwrite', (s) => {
    const req = s.outbox.getAll();
    req.onsuccess = () => {
      for (const item of req.result) {
        const next = fn(item);
        if (next !== item) s.outbox.put(next);
      }
    };
  });
}

/** On app start: items left 'uploading' by a crash are pending again; what the server holds and the
 * phone no longer needs is deleted (ob.prunePlan), so the phone's storage stays flat. */
export async function recover() {
  await mapAll(ob.recover);
  await prune();
}

export async function prune(now = Date.now()) {
  const [outbox, drafts, thumbs, metaKeys, findings] = await Promise.all([
    db.getAll('outbox'),
    db.getAll('drafts'),
    db.getAll('thumbs'),
    db.run('meta', 'readonly', (s) => s.meta.getAllKeys()),
    db.getAll('findings'),
  ]);
  const plan = ob.prunePlan({ outbox, drafts, thumbs: thumbs.map((t) => ({ id: t.id, at: t.at })), metaKeys, findingIds: findings.map((f) => f.id), now });
  if (!plan.outbox.length && !plan.drafts.length && !plan.thumbs.length && !plan.meta.length) return plan;
  await db.run(['outbox', 'drafts', 'thumbs', 'meta'], 'readwrite', (s) => {
    plan.outbox.forEach((id) => s.outbox.delete(id));
    plan.drafts.forEach((id) => s.drafts.delete(id));
    plan.thumbs.forEach((id) => s.thumbs.delete(id));
    plan.meta.forEach((k) => s.meta.delete(k));
  });
  return plan;
}

/** Retry now whatever waits on a timer or on the sign-in ("sync now", back online, app start). */
export async function wakeAll() {
  await mapAll(ob.wake);
}

/** Force one item that needs attention to be tried again. */
export async function retryItem(id) {
  await db.update('outbox', id, (cur) =>
    cur ? { ...cur, state: ob.STATES.PENDING, next_at: null, attempts: 0 } : undefined,
  );
  emit({ type: 'changed' });
}

function withLock(fn) {
  const locks = typeof navigator !== 'undefined' && navigator.locks;
  return locks ? locks.request(LOCK, fn) : fn();
}

let running = null;
let queued = null;

/** Send everything that may be sent now. Concurrent calls coalesce; page and worker never overlap.
 * A call during a run gets one more run after it (the running one may have read the outbox before the
 * caller's change), and its promise settles when that run is over: the caller then sees the outcome
 * (and schedules the next retry from it), not the earlier run's. */
export function drain() {
  if (!running) {
    running = withLock(drainLoop).finally(() => {
      running = null;
    });
    return running;
  }
  if (!queued) {
    queued = running
      .catch(() => {})
      .then(() => {
        queued = null;
        return drain();
      });
  }
  return queued;
}

async function drainLoop() {
  let sent = 0;
  for (let guard = 0; guard < 500; guard += 1) {
    const all = await db.getAll('outbox');
    const next = ob.runnable(all, Date.now())[0];
    if (!next) break;
    const outcome = await sendItem(next);
    if (outcome === 'done') sent += 1;
    if (outcome === 'stop') break;
  }
  if (sent) {
    await prune().catch((e) => console.warn('pruning failed', e));
    emit({ type: 'synced', count: sent });
  }
  emit({ type: 'changed' });
  return ob.summarize(await db.getAll('outbox'));
}

async function saveOutcome(item, outcome, info, extra) {
  const next = ob.afterAttempt(item, outcome, { now: Date.now(), ...info });
  const stores = ['outbox', 'drafts', 'findings', 'venues', 'photos', 'meta'];
  await db.run(stores, 'readwrite', (s) => {
    s.outbox.put(next);
    if (outcome === 'done' && extra) extra(s, next);
  });
  emit({ type: 'changed', id: item.id });
  return next;
}

/** What the phone does locally once an item is on the server. Runs inside one readwrite transaction.
 * Rows changed here carry _phone_at, so a refresh whose lists were asked for earlier keeps them. */
function afterDone(item) {
  return (s, done) => {
    const now = Date.now();
    const reply = done && done.result && typeof done.result === 'object' ? done.result : null;
    // The server holds the photos now: free the phone's storage.
    for (const pid of item.photo_ids || []) s.photos.delete(pid);
    const ref = item.ref || {};
    // The server has confirmed the inspection: its draft (answers, note) is no longer needed here.
    if (item.kind === 'inspection' && ref.draft_id) s.drafts.delete(ref.draft_id);
    if (item.kind === 'venue' && ref.venue_id) {
      const req = s.venues.get(ref.venue_id);
      req.onsuccess = () => {
        const server = reply && reply.id === ref.venue_id ? reply : {};
        if (req.result) s.venues.put({ ...req.result, ...server, _local: false, _phone_at: now });
      };
    }
    // A rectification or verification answers with the whole finding: the phone shows it at once (a
    // rectified finding must not offer 登记整改 again until the next refresh).
    if ((item.kind === 'rectification' || item.kind === 'verification') && reply && reply.id && reply.status) {
      const { events, rectification, ...plain } = reply;
      s.findings.put({ ...plain, _phone_at: now });
      s.meta.put({ key: `finding:${reply.id}`, value: reply });
    }
  };
}

// The request on its way from this page, if any: {ctl, progressAt}. As the signal comes and goes a
// request can hang rather than fail, and would wait out its limit (45 s without progress for a photo, 30 s
// for a record): the network's return stops it (restartSends) and the item is sent again at once. Every
// write is idempotent by its id, so a request that did reach the server is answered the same the second
// time. (A send the service worker holds, by Background Sync, is its own and ends by its limits.)
let inflight = null;

/** Stop the request on its way, to be sent again at once (the network just came back), unless it is an
 * upload still moving bytes (ob.shouldRestart). */
export function restartSends(now = Date.now()) {
  if (inflight && ob.shouldRestart({ now, progressAt: inflight.progressAt })) inflight.ctl.abort();
}

async function sendItem(item) {
  const mine = { ctl: new AbortController(), progressAt: 0 };
  inflight = mine;
  try {
    return await sendItemOnce(item, mine);
  } finally {
    if (inflight === mine) inflight = null;
  }
}

async function sendItemOnce(item, mine) {
  const { signal } = mine.ctl;
  let cur = { ...item, state: ob.STATES.UPLOADING };
  await db.put('outbox', cur);
  emit({ type: 'changed', id: cur.id });

  // 1. Photos, one by one (each is idempotent by id: 201 new, 200 same bytes already there).
  const photoRows = await db.run('photos', 'readonly', (s) => (cur.photo_ids || []).map((id) => s.photos.get(id)));
  const sizes = {};
  for (const row of photoRows) if (row) sizes[row.id] = row.size || (row.blob && row.blob.size) || 0;
  for (const pid of ob.photosToSend(cur)) {
    const row = photoRows.find((r) => r && r.id === pid);
    if (!row || !row.blob) {
      // Only an inspection can be sent back to its draft; a rectification or verification is filled in again.
      const text = cur.kind === 'inspection' ? '手机上找不到这张照片，请退回修改后重新提交' : '手机上找不到这张照片，请放弃这一项后重新登记';
      await saveOutcome(cur, 'attention', { status: 0, problem: { text, code: 'photo_missing' } });
      return 'continue';
    }
    const r = await putPhoto(
      pid,
      row.blob,
      (loaded) => {
        mine.progressAt = Date.now();
        emit({ type: 'progress', id: cur.id, fraction: ob.progressFraction(cur, sizes, { id: pid, loaded }) });
      },
      evidenceFields(row.evidence),
      row.thumb,
      signal,
    );
    if (signal.aborted) return 'again';
    const outcome = ob.classifyPhoto(r.status);
    if (outcome !== 'done') {
      const problem = r.status === 409 ? { ...r.problem, text: '照片编号冲突：该编号已用于另一张照片' } : r.problem;
      await saveOutcome(cur, outcome, { status: r.status, problem });
      return outcome === 'attention' ? 'continue' : 'stop';
    }
    cur = { ...cur, photos_done: [...(cur.photos_done || []), pid] };
    await db.put('outbox', cur);
    emit({ type: 'progress', id: cur.id, fraction: ob.progressFraction(cur, sizes) });
  }

  // 2. The record itself.
  const r = await call(cur.path, { method: cur.method, json: cur.body, signal });
  if (signal.aborted) return 'again';
  let outcome = ob.classify(cur, r.status, r.problem);
  let info = { status: r.status, problem: r.problem, result: r.data };
  if (outcome === 'confirm') ({ outcome, info } = await confirmTransition(cur, r));
  if (outcome === 'done') {
    await saveOutcome(cur, 'done', info, afterDone(cur));
    return 'done';
  }
  await saveOutcome(cur, outcome, info);
  if (outcome === 'auth') emit({ type: 'auth' });
  return outcome === 'attention' ? 'continue' : 'stop';
}

/** A 409 to a rectification/verification: done only if the finding's history holds this transition by
 * this user (see outbox.js); the finding is read again to know. */
async function confirmTransition(item, r) {
  const findingId = (item.ref && item.ref.finding_id) || item.path.split('/')[2];
  const me = await db.getMeta('me');
  const f = await call(`/findings/${encodeURIComponent(findingId)}`);
  const outcome = ob.confirmOutcome(item, f.status, f.data, me && me.id);
  if (outcome === 'done') return { outcome, info: { status: f.status, problem: null, result: f.data } };
  if (f.ok) return { outcome, info: { status: r.status, problem: { ...r.problem, text: ob.takenText(item, f.data, r.problem) } } };
  return { outcome, info: { status: f.status, problem: f.problem } };
}

/** Remove an item (the inspector discards it). Its photos go too unless keepPhotos. */
export async function discard(id, { keepPhotos = false } = {}) {
  const item = await db.get('outbox', id);
  if (!item) return null;
  await db.run(['outbox', 'photos'], 'readwrite', (s) => {
    s.outbox.delete(id);
    if (!keepPhotos) for (const pid of item.photo_ids || []) s.photos.delete(pid);
  });
  emit({ type: 'changed' });
  return item;
}
