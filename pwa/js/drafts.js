// Work in progress on the phone (checklists, rectifications, verifications). The in-memory draft is the
// source of truth for the screen; every change is written to IndexedDB at once, in order.

import * as db from './db.js';
import { compress } from './image.js';

export class DraftSession {
  constructor(draft) {
    this.draft = draft;
    this.queue = Promise.resolve();
    this.failed = null;
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
    return this.enqueue(() => db.put('drafts', snapshot));
  }

  /** Compress a photo, then store it and the draft that refers to it in one transaction. */
  async addPhoto(file, attach) {
    const { blob, width, height } = await compress(file);
    const rec = {
      id: crypto.randomUUID(),
      blob,
      width,
      height,
      size: blob.size,
      type: 'image/jpeg',
      draft_id: this.draft.id,
      created_at: new Date().toISOString(),
    };
    this.draft = { ...attach(this.draft, rec.id), updated_at: new Date().toISOString() };
    const snapshot = this.draft;
    await this.enqueue(() =>
      db.run(['photos', 'drafts'], 'readwrite', (s) => {
        s.photos.put(rec);
        s.drafts.put(snapshot);
      }),
    );
    return rec;
  }

  removePhoto(photoId, detach) {
    this.draft = { ...detach(this.draft, photoId), updated_at: new Date().toISOString() };
    const snapshot = this.draft;
    return this.enqueue(() =>
      db.run(['photos', 'drafts'], 'readwrite', (s) => {
        s.photos.delete(photoId);
        s.drafts.put(snapshot);
      }),
    );
  }

  flush() {
    return this.queue;
  }
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
