// Work in progress on the phone (checklists, rectifications, verifications). The in-memory draft is the
// source of truth for the screen; every change is written to IndexedDB at once, in order.

import * as db from './db.js';
import { evidenceFor, readExifOf } from './exif.js';
import { compress } from './image.js';

/** The phone's position now, or null (no permission, no fix within the time). */
export function devicePosition(timeoutMs = 20000) {
  return new Promise((resolve) => {
    if (typeof navigator === 'undefined' || !navigator.geolocation) {
      resolve(null);
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lng: p.coords.longitude, accuracy_m: Math.round(p.coords.accuracy * 10) / 10 }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 30000 },
    );
  });
}

const FIX = ['lat', 'lng', 'accuracy_m'];

/** The draft with the GPS fix of the stored copy when it has none itself: the fix arrives whenever it
 * arrives and may be merged into the stored draft after this screen loaded its copy. */
function withFix(draft, stored) {
  if (!draft || draft.lat != null || !stored || stored.lat == null) return draft;
  const next = { ...draft };
  for (const k of FIX) next[k] = stored[k] ?? null;
  return next;
}

export class DraftSession {
  constructor(draft) {
    this.draft = draft;
    this.queue = Promise.resolve();
    this.failed = null;
    this.inflight = new Set(); // photos being compressed, not yet in the queue
  }

  /** Put a snapshot of the draft inside an open transaction, keeping a stored GPS fix it lacks. A draft
   * is stored before its screen opens; once submitted (queued) or discarded (gone) a late write of the
   * screen (a GPS fix, a keystroke) must not bring it back as a draft. */
  putDraft(s, snapshot) {
    const req = s.drafts.get(snapshot.id);
    req.onsuccess = () => {
      if (!req.result || req.result.status !== 'draft') return;
      const next = withFix(snapshot, req.result);
      if (next !== snapshot) this.draft = withFix(this.draft, req.result);
      s.drafts.put(next);
    };
  }

  enqueue(write) {
    this.queue = this.queue.then(write).catch((e) => {
      this.failed = e;
      console.error('saving the draft failed', e);
      if (this.onError) this.onError(e);
    });
    return this.queue;
  }

  /** Apply fn to the draft and store it. */
  change(fn) {
    this.draft = { ...fn(this.draft), updated_at: new Date().toISOString() };
    const snapshot = this.draft;
    return this.enqueue(() => db.run('drafts', 'readwrite', (s) => this.putDraft(s, snapshot)));
  }

  /** Compress a photo, then store it and the draft that refers to it in one transaction. Until it is
   * stored, flush() waits for it: leaving the screen right after taking a photo must not lose it. When
   * the phone cannot store it (full), the draft does not keep it either and the promise rejects with
   * `notStored` set (onError has already told the inspector). */
  addPhoto(file, attach, detach) {
    const work = this.storePhoto(file, attach, detach);
    this.inflight.add(work);
    const forget = () => this.inflight.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** The canvas re-encode drops the camera's metadata, so when and where the photo was taken is read
   * from the original first (EXIF), with the phone's position at capture time beside it; both are kept
   * with the photo and sent with it as evidence. A position that comes after the photo is stored is
   * added to it then. */
  async storePhoto(file, attach, detach) {
    const takenAt = Date.now();
    let device;
    const position = devicePosition().then((p) => (device = p));
    const [exif, { blob, width, height, thumb }] = await Promise.all([readExifOf(file), compress(file)]);
    const lastModified = file.lastModified || null;
    const evidence = evidenceFor({ exif, device, lastModified, now: takenAt });
    const rec = {
      id: crypto.randomUUID(),
      blob,
      thumb,
      width,
      height,
      size: blob.size,
      type: 'image/jpeg',
      draft_id: this.draft.id,
      created_at: new Date().toISOString(),
      evidence,
    };
    this.draft = { ...attach(this.draft, rec.id), updated_at: new Date().toISOString() };
    const snapshot = this.draft;
    let failure = null;
    await this.enqueue(() =>
      db
        .run(['photos', 'drafts'], 'readwrite', (s) => {
          s.photos.put(rec);
          this.putDraft(s, snapshot);
        })
        .catch((e) => {
          failure = e;
          throw e;
        }),
    );
    if (failure) {
      // The transaction stored neither the photo nor the draft naming it, but a save queued meanwhile (a
      // keystroke, a GPS fix) may have written the id: the draft is saved again without it. A draft that
      // names a photo the phone does not have could never be sent.
      this.change((d) => detach(d, rec.id));
      const err = new Error('the photo could not be stored on the phone');
      err.notStored = true;
      err.cause = failure;
      throw err;
    }
    if (device === undefined && evidence.lat === null) {
      position.then((p) => {
        const late = p && evidenceFor({ exif, device: p, lastModified, now: takenAt });
        if (!late || late.lat === null) return;
        db.update('photos', rec.id, (cur) => (cur && cur.evidence && cur.evidence.lat == null ? { ...cur, evidence: late } : undefined)).catch(() => {});
      });
    }
    return rec;
  }

  removePhoto(photoId, detach) {
    this.draft = { ...detach(this.draft, photoId), updated_at: new Date().toISOString() };
    const snapshot = this.draft;
    return this.enqueue(() =>
      db.run(['photos', 'drafts'], 'readwrite', (s) => {
        s.photos.delete(photoId);
        this.putDraft(s, snapshot);
      }),
    );
  }

  /** Every change made so far is stored (photos still being compressed included), and the draft in
   * memory has the stored GPS fix. */
  async flush() {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
    await this.queue;
    const stored = await db.get('drafts', this.draft.id).catch(() => null);
    this.draft = withFix(this.draft, stored);
  }
}

/** A draft may name a photo the phone never stored (a save that failed before failed saves were undone):
 * it could never be sent, and "退回修改" would loop. Such ids (of `photoIds`) are taken out of the stored
 * draft with `detach(draft, photoId)`; returns the draft without them and how many went. */
export async function withoutLostPhotos(draft, photoIds, detach) {
  if (draft.status !== 'draft') return { draft, lost: 0 };
  const have = new Set((await photosOf(photoIds)).map((p) => p.id));
  const lost = photoIds.filter((pid) => !have.has(pid));
  if (!lost.length) return { draft, lost: 0 };
  const repair = (d) => lost.reduce(detach, d);
  await db.update('drafts', draft.id, (cur) => (cur && cur.status === 'draft' ? repair(cur) : undefined));
  return { draft: repair(draft), lost: lost.length };
}

export async function photosOf(ids) {
  if (!ids.length) return [];
  const rows = await db.run('photos', 'readonly', (s) => ids.map((id) => s.photos.get(id)));
  return rows.filter(Boolean);
}

/** Delete a draft and its photos. */
export async function discardDraft(draft, photoIds) {
  await db.run(['drafts', 'photos'], 'readwrite', (s) => {
    s.drafts.delete(draft.id);
    for (const id of photoIds) s.photos.delete(id);
  });
}

export const allDrafts = () => db.getAll('drafts');
