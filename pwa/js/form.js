// Checklist form state and validation (pure, tested under Node). A draft is plain data so it can be
// written to IndexedDB after every tap.

export const RESULTS = Object.freeze(['pass', 'fail', 'na']);
export const RESULT_LABELS = Object.freeze({ pass: '合格', fail: '不合格', na: '不适用' });

export const CATEGORY_LABELS = Object.freeze({
  management: '消防安全管理',
  licensing: '证照手续',
  evacuation: '安全出口与疏散通道',
  fire_equipment: '消防设施器材',
  electrical: '电气线路',
  ebike: '电动自行车',
  fire_gas_use: '用火用气',
  materials_decoration: '装修材料',
  occupancy_layout: '场所布局与住人',
  structure: '房屋结构',
  use_change: '改变用途',
  training_drill: '培训与演练',
});

// What the server accepts (API schemas): beyond it a request is refused (422) and would sit in the
// outbox, so the forms stop it first.
export const LIMITS = Object.freeze({ answerNote: 2000, note: 4000, photos: 20, venueName: 200, venueAddress: 500, ownerName: 200 });

/** Length in characters as the server counts them (code points, after trimming). */
export function textLength(s) {
  return [...String(s ?? '').trim()].length;
}

export function categoryLabel(code) {
  return CATEGORY_LABELS[code] || code || '其他';
}

/** Templates that apply to a venue kind, by the template's own `venue_kinds` (the server refuses any other;
 * `fire_exits` lists every kind), or with no kinds listed. */
export function templatesForKind(checklists, kind) {
  const list = (checklists || []).filter(
    (c) => !Array.isArray(c.venue_kinds) || c.venue_kinds.length === 0 || c.venue_kinds.includes(kind),
  );
  // The venue's own template first, the general fire-exit check after it.
  return list.sort((a, b) => (a.code === 'fire_exits') - (b.code === 'fire_exits'));
}

/** Can an item apply to a venue of this kind? Items list their kinds (reference data); an item of an
 * older template lists none and applies everywhere, and so does every item when the kind is unknown. */
export function appliesTo(item, kind) {
  return !kind || !Array.isArray(item.kinds) || item.kinds.includes(kind);
}

/** The template as shown for a venue kind: only the items that can apply to it (the rest are sent as
 * 不适用 by buildInspectionBody). The same object when nothing is left out. */
export function forKind(template, kind) {
  if (!template) return template;
  const items = template.items.filter((i) => appliesTo(i, kind));
  return items.length === template.items.length ? template : { ...template, items };
}

/** What the inspector must do when an item fails: 停止使用 (structural danger), 立即整改 (same day), or
 * fix within its deadline. {kind: 'stop'|'now'|'days', label, detail} */
export function failAction(item) {
  if (item.stop_use) return { kind: 'stop', label: '停止使用、人员撤离', detail: '停止使用、人员撤离：立即停止使用该房屋，撤离房内及周边人员，设置警戒，并马上报告镇应急办。' };
  if (item.immediate) return { kind: 'now', label: '立即整改', detail: '立即整改：请业主当场整改，离开前复查。' };
  return { kind: 'days', label: `${item.deadline_days} 天内整改`, detail: '' };
}

/** Items grouped by category, keeping the template's order of first appearance. */
export function groupByCategory(items) {
  const groups = new Map();
  for (const item of items || []) {
    const key = item.category || 'other';
    if (!groups.has(key)) groups.set(key, { category: key, label: categoryLabel(key), items: [] });
    groups.get(key).items.push(item);
  }
  return [...groups.values()];
}

export function newDraft({ id, venue, template, now, position = null }) {
  const answers = {};
  for (const item of template.items) answers[item.code] = { result: null, note: '', photo_ids: [] };
  return {
    id,
    venue_id: venue.id,
    venue_name: venue.name,
    venue_kind: venue.kind || null,
    checklist_code: template.code,
    checklist_version: template.version,
    checklist_title: template.title,
    started_at: now,
    updated_at: now,
    lat: position ? position.lat : null,
    lng: position ? position.lng : null,
    accuracy_m: position ? position.accuracy_m : null,
    note: '',
    answers,
    status: 'draft',
  };
}

function answerOf(draft, code) {
  return draft.answers[code] || { result: null, note: '', photo_ids: [] };
}

function withAnswer(draft, code, patch, now) {
  return {
    ...draft,
    updated_at: now ?? draft.updated_at,
    answers: { ...draft.answers, [code]: { ...answerOf(draft, code), ...patch } },
  };
}

export function setResult(draft, code, result, now) {
  if (result !== null && !RESULTS.includes(result)) throw new Error(`bad result ${result}`);
  const current = answerOf(draft, code).result;
  // Tapping the chosen answer again clears it.
  return withAnswer(draft, code, { result: current === result ? null : result }, now);
}

export function setNote(draft, code, note, now) {
  return withAnswer(draft, code, { note: String(note ?? '') }, now);
}

export function addPhoto(draft, code, photoId, now) {
  const ids = answerOf(draft, code).photo_ids;
  return ids.includes(photoId) ? draft : withAnswer(draft, code, { photo_ids: [...ids, photoId] }, now);
}

export function removePhoto(draft, code, photoId, now) {
  return withAnswer(draft, code, { photo_ids: answerOf(draft, code).photo_ids.filter((p) => p !== photoId) }, now);
}

export function allPhotoIds(draft) {
  return Object.values(draft.answers).flatMap((a) => a.photo_ids || []);
}

/**
 * Validation for the summary screen and the submit button.
 * Returns {counts:{pass,fail,na,unanswered,total}, unanswered, failures, majorFailures, missingPhotos,
 * overLimit (items whose note or photos exceed what the server takes), noteTooLong, ok}.
 */
export function validate(template, draft) {
  const counts = { pass: 0, fail: 0, na: 0, unanswered: 0, total: template.items.length };
  const unanswered = [];
  const failures = [];
  const majorFailures = [];
  const missingPhotos = [];
  const overLimit = [];
  for (const item of template.items) {
    const a = answerOf(draft, item.code);
    if (textLength(a.note) > LIMITS.answerNote || (a.photo_ids || []).length > LIMITS.photos) overLimit.push(item.code);
    if (!a.result) {
      counts.unanswered += 1;
      unanswered.push(item.code);
      continue;
    }
    counts[a.result] += 1;
    if (a.result === 'fail') {
      failures.push(item.code);
      if (item.major) majorFailures.push(item.code);
      if (item.photo_required && a.photo_ids.length === 0) missingPhotos.push(item.code);
    }
  }
  const noteTooLong = textLength(draft.note) > LIMITS.note;
  return {
    counts,
    unanswered,
    failures,
    majorFailures,
    missingPhotos,
    overLimit,
    noteTooLong,
    ok: unanswered.length === 0 && missingPhotos.length === 0 && overLimit.length === 0 && !noteTooLong,
  };
}

/** Does this item still need something before submit? ('answer' | 'photo' | 'limit' | null) */
export function itemProblem(item, answer) {
  if (!answer || !answer.result) return 'answer';
  if (answer.result === 'fail' && item.photo_required && (answer.photo_ids || []).length === 0) return 'photo';
  if (textLength(answer.note) > LIMITS.answerNote || (answer.photo_ids || []).length > LIMITS.photos) return 'limit';
  return null;
}

function blankToNull(s) {
  const t = String(s ?? '').trim();
  return t === '' ? null : t;
}

/** The PUT /inspections/{id} body, answers in template order; the items that cannot apply to the venue's
 * kind (not shown) are 不适用. Built once at submit and stored, so a retry sends exactly the same bytes'
 * meaning (the server treats another body under the same id as a conflict). */
export function buildInspectionBody(template, draft, submittedAt) {
  return {
    venue_id: draft.venue_id,
    checklist_code: draft.checklist_code,
    checklist_version: draft.checklist_version,
    started_at: draft.started_at,
    submitted_at: submittedAt,
    lat: draft.lat ?? null,
    lng: draft.lng ?? null,
    accuracy_m: draft.accuracy_m ?? null,
    note: blankToNull(draft.note),
    answers: template.items.map((item) => {
      if (!appliesTo(item, draft.venue_kind)) return { item_code: item.code, result: 'na', note: null, photo_ids: [] };
      const a = answerOf(draft, item.code);
      return { item_code: item.code, result: a.result, note: blankToNull(a.note), photo_ids: [...a.photo_ids] };
    }),
  };
}

const tooManyPhotos = `照片太多（最多 ${LIMITS.photos} 张）`;
const noteTooLong = `说明太长（最多 ${LIMITS.note} 字）`;

/** The server requires a note with a rectification: what was done is the record. */
export function validateRectification({ note, photo_ids }) {
  const errors = {};
  if (!photo_ids || photo_ids.length === 0) errors.photos = '请至少拍一张整改后的照片';
  else if (photo_ids.length > LIMITS.photos) errors.photos = tooManyPhotos;
  if (textLength(note) === 0) errors.note = '请写明整改措施和结果';
  else if (textLength(note) > LIMITS.note) errors.note = noteTooLong;
  return { ok: Object.keys(errors).length === 0, errors };
}

export function validateVerification({ result, note, photo_ids = [] }) {
  const errors = {};
  if (result !== 'pass' && result !== 'fail') errors.result = '请选择复查结果';
  if (result === 'fail' && textLength(note) === 0) errors.note = '复查不通过时请写明原因';
  else if (textLength(note) > LIMITS.note) errors.note = noteTooLong;
  if ((photo_ids || []).length > LIMITS.photos) errors.photos = tooManyPhotos;
  return { ok: Object.keys(errors).length === 0, errors };
}

export function validateVenue(v) {
  const errors = {};
  if (!String(v.name ?? '').trim()) errors.name = '请填写场所名称';
  else if (textLength(v.name) > LIMITS.venueName) errors.name = `场所名称太长（最多 ${LIMITS.venueName} 字）`;
  if (textLength(v.address) > LIMITS.venueAddress) errors.address = `地址太长（最多 ${LIMITS.venueAddress} 字）`;
  if (textLength(v.owner_name) > LIMITS.ownerName) errors.owner_name = `负责人姓名太长（最多 ${LIMITS.ownerName} 字）`;
  if (!v.kind) errors.kind = '请选择场所类型';
  if (!v.area_code) errors.area_code = '请选择所属区域';
  if (v.owner_phone && !/^[0-9+\-\s]{5,20}$/.test(v.owner_phone)) errors.owner_phone = '电话号码格式不对';
  return { ok: Object.keys(errors).length === 0, errors };
}
