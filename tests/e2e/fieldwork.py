"""A day's work put on the phone quickly: inspections with photos saved exactly as the summary screen saves
them (a draft marked queued, the photos in IndexedDB, one outbox item per inspection), then sent by the app's
own outbox engine. Shared by the field tests and bench/pwa.py."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image, ImageFilter

# Runs in the inspector app: the same modules and the same records as a checklist filled in by hand.
SAVE_INSPECTIONS = """async ({ venues, template, photos, perInspection, evidence }) => {
  const db = await import('/js/db.js');
  const sync = await import('/js/sync.js');
  const form = await import('/js/form.js');
  const data = await import('/js/data.js');
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const blobs = photos.map((b64) => new Blob([bytes(b64)], { type: 'image/jpeg' }));
  const failing = template.items.filter((i) => i.photo_required);
  const made = [];
  let k = 0;
  for (const venue of venues) {
    const now = new Date().toISOString();
    let draft = form.newDraft({ id: crypto.randomUUID(), venue, template, now, position: evidence });
    const shown = form.forKind(template, venue.kind);
    for (const item of shown.items) draft = form.setResult(draft, item.code, 'pass');
    const recs = [];
    for (let p = 0; p < perInspection; p += 1) {
      const item = failing.filter((i) => form.appliesTo(i, venue.kind))[p];
      const blob = blobs[k++ % blobs.length];
      const rec = {
        id: crypto.randomUUID(), blob, width: 1600, height: 1200, size: blob.size, type: 'image/jpeg',
        draft_id: draft.id, created_at: now,
        evidence: { captured_at: now, ...evidence, position_source: 'device' },
      };
      recs.push(rec);
      draft = form.setResult(draft, item.code, 'fail');
      draft = form.addPhoto(draft, item.code, rec.id);
    }
    const body = form.buildInspectionBody(template, draft, new Date().toISOString());
    const item = sync.newItem({
      kind: 'inspection', title: `${venue.name} · ${template.title}`, path: `/inspections/${draft.id}`,
      body, photo_ids: form.allPhotoIds(draft), ref: { draft_id: draft.id, fail: perInspection },
    });
    await db.run(['drafts', 'outbox', 'photos', 'meta'], 'readwrite', (s) => {
      for (const r of recs) s.photos.put(r);
      s.outbox.put(item);
      s.drafts.put({ ...draft, status: 'queued', outbox_id: item.id, submitted_at: body.submitted_at });
      s.meta.put({ key: data.templateKey(template.code, template.version), value: template });
    });
    made.push(draft.id);
  }
  sync.emit({ type: 'changed' });
  return made;
}"""

# What the phone holds: records per store, photo bytes, and the browser's own estimate of storage used.
PHONE_STORAGE = """async () => {
  const db = await import('/js/db.js');
  const counts = {};
  for (const name of db.STORES) counts[name] = (await db.getAll(name)).length;
  const photos = await db.getAll('photos');
  const est = navigator.storage && navigator.storage.estimate ? await navigator.storage.estimate() : {};
  const idb = est.usageDetails && est.usageDetails.indexedDB;
  const photoBytes = photos.reduce((n, p) => n + (p.size || 0), 0);
  return { counts, photo_bytes: photoBytes, usage: est.usage || 0, idb: idb || null };
}"""


def phone_photos(n: int = 6, size: tuple[int, int] = (1600, 1200)) -> list[bytes]:
    """JPEGs like the ones the phone stores after compression: 1600×1200, ~250–400 KB, each different."""
    out = []
    for seed in range(n):
        w, h = size
        img = Image.effect_noise((w // 4, h // 4), 50 + seed).convert("RGB").resize((w, h))
        img = img.filter(ImageFilter.GaussianBlur(0.6))
        fine = Image.effect_noise((w, h), 12).convert("RGB")
        img = Image.blend(img, fine, 0.25)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=80)
        out.append(buf.getvalue())
    return out


def save_inspections(
    page: Any,
    venues: list[dict[str, Any]],
    template: dict[str, Any],
    photos: list[bytes],
    per_inspection: int,
    fix: dict[str, float],
) -> list[str]:
    arg = {
        "venues": venues,
        "template": template,
        "photos": [base64.b64encode(p).decode() for p in photos],
        "perInspection": per_inspection,
        "evidence": {"lat": fix["latitude"], "lng": fix["longitude"], "accuracy_m": fix["accuracy"]},
    }
    made: list[str] = page.evaluate(SAVE_INSPECTIONS, arg)
    return made


def phone_storage(page: Any) -> dict[str, Any]:
    stats: dict[str, Any] = page.evaluate(PHONE_STORAGE)
    return stats


# Resolves once every item of the outbox is on the server (or at the deadline); polls IndexedDB in the page.
WAIT_SYNCED = """async (ms) => {
  const db = await import('/js/db.js');
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const all = await db.getAll('outbox');
    const stuck = all.filter((i) => i.state === 'attention' || i.state === 'auth');
    if (stuck.length) return { ok: false, stuck: stuck.map((i) => [i.title, i.error]) };
    if (all.length && all.every((i) => i.state === 'done')) return { ok: true };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { ok: false, stuck: 'timeout' };
}"""


def wait_synced(page: Any, timeout_ms: int = 300_000) -> None:
    got = page.evaluate(WAIT_SYNCED, timeout_ms)
    assert got["ok"], got
