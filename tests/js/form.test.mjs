import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  LIMITS,
  appliesTo,
  failAction,
  forKind,
  addPhoto,
  allPhotoIds,
  buildInspectionBody,
  groupByCategory,
  itemProblem,
  newDraft,
  removePhoto,
  setNote,
  setResult,
  templatesForKind,
  validate,
  validateRectification,
  validateVenue,
  validateVerification,
} from '../../pwa/js/form.js';

const template = {
  code: 'small_venue_fire',
  version: 2,
  title: '九小场所消防安全检查',
  venue_kinds: ['small_retail', 'small_restaurant'],
  items: [
    { code: 'A1', prompt: '出口畅通', category: 'evacuation', major: true, deadline_days: 0, photo_required: true },
    { code: 'B1', prompt: '灭火器', category: 'fire_equipment', major: false, deadline_days: 7, photo_required: false },
    { code: 'A2', prompt: '应急照明', category: 'evacuation', major: false, deadline_days: 7, photo_required: true },
  ],
};
const fireExits = {
  code: 'fire_exits',
  version: 1,
  title: '消防通道',
  venue_kinds: ['small_retail', 'self_built_house', 'enterprise'],
  items: [],
};
const house = { code: 'self_built_house', version: 1, title: '自建房', venue_kinds: ['self_built_house'], items: [] };
const venue = { id: 'v1', name: '张三小卖部', kind: 'small_retail' };

test('templates for a kind; fire_exits applies to every kind', () => {
  const all = [fireExits, house, template];
  assert.deepEqual(templatesForKind(all, 'small_retail').map((t) => t.code), ['small_venue_fire', 'fire_exits']);
  assert.deepEqual(templatesForKind(all, 'self_built_house').map((t) => t.code), ['self_built_house', 'fire_exits']);
  assert.deepEqual(templatesForKind(all, 'enterprise').map((t) => t.code), ['fire_exits']);
  // A version that narrows its kinds is not offered where the server would refuse it.
  const narrowed = { ...fireExits, version: 2, venue_kinds: ['small_retail'] };
  assert.deepEqual(templatesForKind([narrowed, house], 'enterprise').map((t) => t.code), []);
});

test('items grouped by category in order of first appearance', () => {
  const g = groupByCategory(template.items);
  assert.deepEqual(g.map((x) => x.category), ['evacuation', 'fire_equipment']);
  assert.deepEqual(g[0].items.map((i) => i.code), ['A1', 'A2']);
  assert.equal(g[0].label, '安全出口与疏散通道');
});

test('a failed photo-required item blocks submit until it has a photo', () => {
  let d = newDraft({ id: 'd1', venue, template, now: '2024-05-01T08:00:00+08:00' });
  let v = validate(template, d);
  assert.equal(v.ok, false);
  assert.equal(v.counts.unanswered, 3);
  d = setResult(d, 'A1', 'fail');
  d = setResult(d, 'B1', 'pass');
  d = setResult(d, 'A2', 'na');
  v = validate(template, d);
  assert.deepEqual(v.missingPhotos, ['A1']);
  assert.deepEqual(v.majorFailures, ['A1']);
  assert.equal(v.ok, false);
  assert.equal(itemProblem(template.items[0], d.answers.A1), 'photo');
  d = addPhoto(d, 'A1', 'p1');
  d = addPhoto(d, 'A1', 'p1'); // no duplicates
  d = addPhoto(d, 'A1', 'p2');
  v = validate(template, d);
  assert.equal(v.ok, true);
  assert.deepEqual(v.counts, { pass: 1, fail: 1, na: 1, unanswered: 0, total: 3 });
  assert.deepEqual(allPhotoIds(d), ['p1', 'p2']);
  d = removePhoto(d, 'A1', 'p1');
  d = removePhoto(d, 'A1', 'p2');
  assert.equal(validate(template, d).ok, false);
});

test('tapping the chosen answer again clears it; drafts are not mutated', () => {
  const d0 = newDraft({ id: 'd1', venue, template, now: 't' });
  const d1 = setResult(d0, 'B1', 'pass');
  const d2 = setResult(d1, 'B1', 'pass');
  assert.equal(d0.answers.B1.result, null);
  assert.equal(d1.answers.B1.result, 'pass');
  assert.equal(d2.answers.B1.result, null);
  assert.throws(() => setResult(d0, 'B1', 'maybe'));
});

test('the inspection body follows the contract and template order', () => {
  let d = newDraft({ id: 'd1', venue, template, now: '2024-05-01T08:00:00+08:00', position: { lat: 31.1, lng: 109.6, accuracy_m: 12 } });
  d = setResult(d, 'A2', 'fail');
  d = addPhoto(d, 'A2', 'p9');
  d = setNote(d, 'A2', ' 应急灯不亮 ');
  d = setResult(d, 'A1', 'pass');
  d = setResult(d, 'B1', 'na');
  const body = buildInspectionBody(template, d, '2024-05-01T08:30:00+08:00');
  assert.deepEqual(Object.keys(body).sort(), [
    'accuracy_m', 'answers', 'checklist_code', 'checklist_version', 'lat', 'lng', 'note', 'started_at', 'submitted_at', 'venue_id',
  ]);
  assert.equal(body.checklist_version, 2);
  assert.equal(body.note, null);
  assert.deepEqual(body.answers.map((a) => a.item_code), ['A1', 'B1', 'A2']);
  assert.deepEqual(body.answers[2], { item_code: 'A2', result: 'fail', note: '应急灯不亮', photo_ids: ['p9'] });
  assert.equal(body.lat, 31.1);
});

test('rectification, verification and venue forms', () => {
  assert.equal(validateRectification({ note: '', photo_ids: [] }).ok, false);
  // The server requires a note with a rectification (what was done is the record).
  assert.equal(validateRectification({ note: '', photo_ids: ['p'] }).ok, false);
  assert.equal(validateRectification({ note: '  ', photo_ids: ['p'] }).errors.note !== undefined, true);
  assert.equal(validateRectification({ note: '已清理', photo_ids: ['p'] }).ok, true);
  assert.equal(validateVerification({ result: null, note: '' }).ok, false);
  assert.equal(validateVerification({ result: 'pass', note: '' }).ok, true);
  assert.equal(validateVerification({ result: 'fail', note: ' ' }).ok, false);
  assert.equal(validateVerification({ result: 'fail', note: '仍然堵塞' }).ok, true);
  assert.equal(validateVenue({ name: ' ', kind: 'small_retail', area_code: 'v' }).ok, false);
  assert.equal(validateVenue({ name: '店', kind: 'small_retail', area_code: 'v', owner_phone: 'abc' }).ok, false);
  assert.equal(validateVenue({ name: '店', kind: 'small_retail', area_code: 'v', owner_phone: '138 0000 0000' }).ok, true);
});

test('nothing the server would refuse reaches the outbox: lengths and photo counts', () => {
  const many = Array.from({ length: LIMITS.photos + 1 }, (_, i) => `p${i}`);
  const long = (n) => '隐'.repeat(n);
  assert.equal(validateRectification({ note: long(LIMITS.note), photo_ids: ['p'] }).ok, true);
  assert.equal(validateRectification({ note: long(LIMITS.note + 1), photo_ids: ['p'] }).ok, false);
  assert.equal(validateRectification({ note: 'x', photo_ids: many }).ok, false);
  assert.equal(validateVerification({ result: 'pass', note: long(LIMITS.note + 1) }).ok, false);
  assert.equal(validateVerification({ result: 'pass', note: '', photo_ids: many }).ok, false);
  // Characters are counted as the server counts them (code points), surrounding blanks ignored.
  assert.equal(validateRectification({ note: `  ${'😀'.repeat(LIMITS.note)}  `, photo_ids: ['p'] }).ok, true);
  assert.equal(validateVenue({ name: long(LIMITS.venueName + 1), kind: 'small_retail', area_code: 'v' }).ok, false);
  assert.equal(validateVenue({ name: '店', kind: 'small_retail', area_code: 'v', address: long(LIMITS.venueAddress + 1) }).ok, false);

  let d = newDraft({ id: 'd1', venue: { id: 'v1', name: '店' }, template, now: 't0' });
  for (const item of template.items) d = setResult(d, item.code, 'pass');
  assert.equal(validate(template, d).ok, true);
  const tooLong = setNote(d, 'B1', long(LIMITS.answerNote + 1));
  assert.deepEqual(validate(template, tooLong).overLimit, ['B1']);
  assert.equal(validate(template, tooLong).ok, false);
  assert.equal(itemProblem(template.items[1], tooLong.answers.B1), 'limit');
  let photos = d;
  for (const p of many) photos = addPhoto(photos, 'B1', p);
  assert.deepEqual(validate(template, photos).overLimit, ['B1']);
  const summaryNote = { ...d, note: long(LIMITS.note + 1) };
  assert.equal(validate(template, summaryNote).noteTooLong, true);
  assert.equal(validate(template, summaryNote).ok, false);
});

test('a venue kind sees only the items that can apply to it; the rest are sent as 不适用', () => {
  const tpl = {
    ...template,
    items: [
      { ...template.items[0], kinds: ['small_retail', 'small_restaurant'] },
      { ...template.items[1], kinds: ['small_restaurant'] },
      { ...template.items[2] }, // an older template: no kinds listed, applies everywhere
    ],
  };
  assert.equal(appliesTo(tpl.items[1], 'small_retail'), false);
  assert.equal(appliesTo(tpl.items[1], null), true);
  assert.deepEqual(forKind(tpl, 'small_retail').items.map((i) => i.code), ['A1', 'A2']);
  assert.equal(forKind(tpl, 'small_restaurant'), tpl);
  const venue = { id: 'v1', name: '店', kind: 'small_retail' };
  let d = newDraft({ id: 'd1', venue, template: tpl, now: 't0' });
  assert.equal(d.venue_kind, 'small_retail');
  const shown = forKind(tpl, d.venue_kind);
  d = setResult(d, 'A1', 'pass');
  d = setResult(d, 'A2', 'pass');
  assert.equal(validate(shown, d).ok, true);
  assert.equal(validate(tpl, d).ok, false); // B1 is unanswered, but it is not shown
  const body = buildInspectionBody(tpl, d, 't1');
  assert.deepEqual(body.answers.map((a) => [a.item_code, a.result]), [['A1', 'pass'], ['B1', 'na'], ['A2', 'pass']]);
});

test('a failed item says what to do now: stop use, fix at once, or within its days', () => {
  assert.equal(failAction({ stop_use: true, immediate: true, deadline_days: 0 }).kind, 'stop');
  assert.equal(failAction({ immediate: true, deadline_days: 0 }).label, '立即整改');
  assert.equal(failAction({ deadline_days: 7 }).label, '7 天内整改');
});
