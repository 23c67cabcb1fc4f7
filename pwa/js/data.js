// Reference data (me, venues, checklists, kinds, areas, my findings) cached in IndexedDB for offline use,
// refreshed from the server when online.

import { call, listAll, photoBlob } from './api.js';
import * as db from './db.js';

let refreshing = null;
let queued = null;

/** Refresh everything; resolves to {ok, status}. A call during a run gets one more run after it
 * (the running one may have started before the change the caller wants to see). */
export function refresh() {
  if (!refreshing) {
    refreshing = doRefresh().finally(() => (refreshing = null));
    return refreshing;
  }
  if (!queued) {
    queued = refreshing.then(() => {
      queued = null;
      return refresh();
    });
  }
  return queued;
}

async function doRefresh() {
  // Rows the phone changes from now on (an item synced while the lists are on their way) are newer
  // than the lists.
  const startedAt = Date.now();
  const [me, kinds, checklists, areas] = await Promise.all([
    call('/me'),
    call('/venue-kinds'),
    call('/checklists'),
    call('/areas'),
  ]);
  if (!me.ok) return { ok: false, status: me.status };
  const [venues, open, submitted, assignments] = await Promise.all([
    listAll('/venues'),
    listAll('/findings', { status: 'open' }),
    listAll('/findings', { status: 'submitted' }),
    listAll('/assignments'),
  ]);
  // Network done; now one write transaction.
  await db.run(['meta', 'venues', 'checklists', 'kinds', 'findings'], 'readwrite', (s) => {
    s.meta.put({ key: 'me', value: me.data });
    s.meta.put({ key: 'refreshed_at', value: Date.now() });
    if (areas.ok) s.meta.put({ key: 'areas', value: areas.data });
    if (assignments.ok) s.meta.put({ key: 'assignments', value: assignments.items });
    if (kinds.ok) {
      s.kinds.clear();
      for (const k of kinds.data) s.kinds.put(k);
    }
    if (checklists.ok) {
      s.checklists.clear();
      for (const c of checklists.data) s.checklists.put(c);
    }
    if (venues.ok) {
      const serverIds = new Set(venues.items.map((v) => v.id));
      const req = s.venues.getAll();
      req.onsuccess = () => {
        // Venues made on the phone and not yet on the server stay, and so do those that reached the
        // server after the list was asked for.
        const local = req.result.filter((v) => !serverIds.has(v.id) && (v._local || (v._phone_at || 0) >= startedAt));
        s.venues.clear();
        for (const v of venues.items) s.venues.put(v);
        for (const v of local) s.venues.put(v);
      };
    }
    if (open.ok && submitted.ok) {
      const req = s.findings.getAll();
      req.onsuccess = () => {
        // A finding rectified or verified from the phone after the lists were asked for: the phone's
        // copy (the server's reply to that change) is the newer one. The cache may hold closed ones for
        // that reason; the lists only show open and submitted findings.
        const newer = req.result.filter((f) => (f._phone_at || 0) >= startedAt);
        s.findings.clear();
        for (const f of [...open.items, ...submitted.items]) s.findings.put(f);
        for (const f of newer) s.findings.put(f);
      };
    }
  });
  return { ok: true, status: 200 };
}

/** Where the exact template version a draft was started with is kept: a refresh replaces the checklists
 * with their latest versions, and a draft must be shown, checked and sent with its own. */
export const templateKey = (code, version) => `checklist:${code}@${version}`;

/** The template a draft was started with (pinned at its start; else the cached latest if it is the same
 * version; else that version from the server). null when it cannot be had now (offline). */
export async function templateFor(code, version) {
  const pinned = await db.getMeta(templateKey(code, version));
  if (pinned) return pinned;
  const latest = await db.get('checklists', code);
  if (latest && latest.version === version) return latest;
  const r = await call(`/checklists/${encodeURIComponent(code)}?version=${encodeURIComponent(version)}`);
  if (!r.ok || !r.data || r.data.version !== version) return null;
  await db.setMeta(templateKey(code, version), r.data);
  return r.data;
}

export const me = () => db.getMeta('me');
export const venues = () => db.getAll('venues');
export const venue = (id) => db.get('venues', id);
export const checklists = () => db.getAll('checklists');
export const findings = () => db.getAll('findings');
/** What 双随机 draws sent me to inspect (open work first), as of the last refresh. */
export const assignments = async () => (await db.getMeta('assignments')) || [];

export async function kindNames() {
  const kinds = await db.getAll('kinds');
  return Object.fromEntries(kinds.map((k) => [k.code, k.name]));
}

/** My areas and every area below them (village → grids), grids first: a venue belongs to the smallest. */
export function myAreas(codes, areaList) {
  const out = [];
  const seen = new Set();
  const walk = (code, depth) => {
    if (seen.has(code)) return;
    seen.add(code);
    out.push({ code, depth });
    for (const a of areaList) if (a.parent_code === code) walk(a.code, depth + 1);
  };
  for (const c of codes) walk(c, 0);
  return out.sort((a, b) => b.depth - a.depth).map((a) => a.code);
}

export async function areaNames() {
  const areas = (await db.getMeta('areas')) || [];
  return Object.fromEntries(areas.map((a) => [a.code, a.name]));
}

/** A finding with its events: from the server when reachable, else the last copy seen. */
export async function findingDetail(id) {
  const r = await call(`/findings/${encodeURIComponent(id)}`);
  if (r.ok) {
    await db.run(['meta', 'findings'], 'readwrite', (s) => {
      s.meta.put({ key: `finding:${id}`, value: r.data });
      const { events, rectification, ...plain } = r.data;
      if (plain.status === 'open' || plain.status === 'submitted') s.findings.put(plain);
      else s.findings.delete(id);
    });
    return { finding: r.data, fresh: true, status: r.status };
  }
  const cached = (await db.getMeta(`finding:${id}`)) || (await db.get('findings', id));
  return { finding: cached || null, fresh: false, status: r.status };
}

/** A server photo (thumbnail) as a Blob, cached on the phone for offline viewing. */
export async function serverThumb(id) {
  const key = `t:${id}`;
  const hit = await db.get('thumbs', key);
  if (hit) return hit.blob;
  const blob = await photoBlob(id, true);
  if (blob) await db.put('thumbs', { id: key, blob, at: Date.now() }); // the oldest are pruned (outbox.prunePlan)
  return blob;
}
