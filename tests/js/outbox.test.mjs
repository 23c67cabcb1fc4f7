import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  STATES,
  afterAttempt,
  backoffDelay,
  blockedBy,
  classify,
  classifyPhoto,
  confirmOutcome,
  nextWakeAt,
  reasonText,
  waitText,
  ownTransition,
  photosToSend,
  progressFraction,
  prunable,
  recover,
  runnable,
  summarize,
  retryCanHelp,
  shouldRestart,
  takenText,
  wake,
} from '../../pwa/js/outbox.js';

const item = (over = {}) => ({
  id: over.id || 'i1',
  kind: 'inspection',
  seq: 1,
  state: STATES.PENDING,
  attempts: 0,
  next_at: null,
  photo_ids: [],
  photos_done: [],
  depends_on: [],
  ...over,
});

test('backoff grows exponentially with jitter and a cap', () => {
  const lo = (n) => backoffDelay(n, { random: () => 0 });
  const hi = (n) => backoffDelay(n, { random: () => 1 });
  assert.equal(lo(1), 1000);
  assert.equal(hi(1), 2000);
  assert.equal(lo(2), 2000);
  assert.equal(hi(3), 8000);
  assert.ok(hi(50) <= 5 * 60 * 1000);
  assert.equal(hi(50), 5 * 60 * 1000);
  for (let n = 1; n < 12; n += 1) {
    const d = backoffDelay(n);
    assert.ok(d >= lo(n) && d <= hi(n), `attempt ${n}: ${d}`);
  }
});

test('backoff spreads phones apart (jitter)', () => {
  const seen = new Set();
  for (let i = 0; i < 50; i += 1) seen.add(backoffDelay(4));
  assert.ok(seen.size > 10);
});

test('classify: retry transient failures, stop on 4xx, auth on 401', () => {
  const i = item();
  assert.equal(classify(i, 201, null), 'done');
  assert.equal(classify(i, 200, null), 'done');
  assert.equal(classify(i, 0, null), 'retry');
  assert.equal(classify(i, 408, null), 'retry');
  assert.equal(classify(i, 429, null), 'retry');
  assert.equal(classify(i, 503, null), 'retry');
  assert.equal(classify(i, 401, null), 'auth');
  assert.equal(classify(i, 422, { detail: 'unknown photo ids' }), 'attention');
  assert.equal(classify(i, 409, { code: 'conflict' }), 'attention');
  assert.equal(classify(i, 403, null), 'attention');
});

test('a 409 to a transition is confirmed from the finding, never taken as done on the status', () => {
  const me = 'B447548F-33E9-4818-8551-C39625C200A1';
  const rect = item({ kind: 'rectification', body: { note: '已清理', photo_ids: ['P2', 'p1'] }, ref: { finding_id: 'f' } });
  // Whatever the 409 says, the phone reads the finding first.
  assert.equal(classify(rect, 409, { code: 'already_submitted', status_now: 'submitted' }), 'confirm');
  assert.equal(classify(rect, 409, { code: 'finding_closed', status_now: 'closed' }), 'confirm');
  // Not for inspections: another body under the same id is a real conflict.
  assert.equal(classify(item(), 409, { code: 'already_submitted' }), 'attention');

  const ev = (over) => ({ action: 'rectify', actor_id: me.toLowerCase(), note: '已清理', photo_ids: ['p1', 'p2'], ...over });
  const finding = (events, status = 'submitted') => ({ id: 'f', status, events: [{ action: 'create', actor_id: 'x', photo_ids: [] }, ...events] });
  // Ours (the reply to the first try was lost): done, also after the finding moved on.
  assert.equal(ownTransition(rect, finding([ev()]), me), true);
  assert.equal(confirmOutcome(rect, 200, finding([ev(), { action: 'verify_pass', actor_id: 'y', photo_ids: [] }], 'closed'), me), 'done');
  // A colleague's rectification, or another one of ours: not done, the inspector decides.
  assert.equal(confirmOutcome(rect, 200, finding([ev({ actor_id: 'someone-else' })]), me), 'attention');
  assert.equal(confirmOutcome(rect, 200, finding([ev({ note: '另一次' })]), me), 'attention');
  assert.equal(confirmOutcome(rect, 200, finding([ev({ photo_ids: ['p1'] })]), me), 'attention');
  assert.equal(confirmOutcome(rect, 200, finding([ev()]), null), 'attention');
  assert.match(takenText(rect, finding([ev({ actor_id: 'z' })])), /待复查/);
  // A rule broken, not the finding taken: said as the rule, never as someone else's work.
  const verify = item({ kind: 'verification', body: { result: 'pass', note: null, photo_ids: [] } });
  const pending = takenText(verify, finding([], 'submitted'), { code: 'major_decision_pending' });
  assert.match(pending, /认定/);
  assert.doesNotMatch(pending, /他人/);
  assert.match(takenText(verify, finding([], 'submitted'), { code: 'invalid_transition' }), /他人/);
  // The finding cannot be read now: try again later, or sign in.
  assert.equal(confirmOutcome(rect, 0, null, me), 'retry');
  assert.equal(confirmOutcome(rect, 503, null, me), 'retry');
  assert.equal(confirmOutcome(rect, 401, null, me), 'auth');
  assert.equal(confirmOutcome(rect, 404, null, me), 'attention');

  const pass = item({ kind: 'verification', body: { result: 'pass', note: null, photo_ids: [] } });
  const fail = item({ kind: 'verification', body: { result: 'fail', note: '仍堵塞', photo_ids: [] } });
  const verified = finding([ev({ actor_id: 'y' }), { action: 'verify_pass', actor_id: me, note: '', photo_ids: [] }], 'closed');
  assert.equal(ownTransition(pass, verified, me), true);
  assert.equal(ownTransition(fail, verified, me), false);
  assert.equal(ownTransition(fail, finding([{ action: 'verify_fail', actor_id: me, note: ' 仍堵塞 ', photo_ids: [] }], 'open'), me), true);
});

test('photo replies', () => {
  assert.equal(classifyPhoto(201), 'done');
  assert.equal(classifyPhoto(200), 'done');
  assert.equal(classifyPhoto(0), 'retry');
  assert.equal(classifyPhoto(502), 'retry');
  assert.equal(classifyPhoto(409), 'attention');
  assert.equal(classifyPhoto(415), 'attention');
  assert.equal(classifyPhoto(401), 'auth');
});

test('runnable: creation order, not before next_at, dependencies first', () => {
  const venue = item({ id: 'v', kind: 'venue', seq: 1 });
  const insp = item({ id: 'x', seq: 2, depends_on: ['v'] });
  const later = item({ id: 'y', seq: 3, state: STATES.RETRY, next_at: 5000 });
  const stuck = item({ id: 'z', seq: 0, state: STATES.ATTENTION });
  const all = [later, insp, venue, stuck];
  assert.deepEqual(runnable(all, 1000).map((i) => i.id), ['v']);
  assert.deepEqual(runnable(all, 6000).map((i) => i.id), ['v', 'y']);
  const venueDone = { ...venue, state: STATES.DONE };
  assert.deepEqual(runnable([later, insp, venueDone], 6000).map((i) => i.id), ['x', 'y']);
  // A dependency that was synced and pruned no longer blocks.
  assert.deepEqual(runnable([insp], 0).map((i) => i.id), ['x']);
  // A dependency needing attention blocks and is reported.
  const venueBad = { ...venue, state: STATES.ATTENTION };
  assert.deepEqual(runnable([insp, venueBad], 0), []);
  assert.deepEqual(blockedBy(insp, [insp, venueBad]).map((i) => i.id), ['v']);
});

test('afterAttempt records reason, schedules retries, keeps auth items', () => {
  const i = item();
  const r1 = afterAttempt(i, 'retry', { now: 1000, status: 503, random: () => 0 });
  assert.equal(r1.state, STATES.RETRY);
  assert.equal(r1.attempts, 1);
  assert.equal(r1.next_at, 2000);
  const r2 = afterAttempt(r1, 'retry', { now: 2000, status: 0, random: () => 0 });
  assert.equal(r2.attempts, 2);
  assert.equal(r2.next_at, 4000);
  assert.equal(r2.error.detail, '网络不通');
  const bad = afterAttempt(i, 'attention', { now: 1, status: 422, problem: { detail: 'photo ids unknown: p1', code: 'unknown_photos' } });
  assert.equal(bad.state, STATES.ATTENTION);
  // A code the app knows reads in Chinese; the code itself is kept.
  assert.equal(bad.error.detail, '照片尚未上传，或属于其他区域');
  assert.equal(bad.error.code, 'unknown_photos');
  const auth = afterAttempt(i, 'auth', { now: 1, status: 401 });
  assert.equal(auth.state, STATES.AUTH);
  const done = afterAttempt(r2, 'done', { now: 9, status: 201, result: { id: 'x' } });
  assert.equal(done.state, STATES.DONE);
  assert.deepEqual(done.result, { id: 'x' });
  assert.equal(done.error, null);
});

test('recover, wake, summarize, nextWakeAt, prune', () => {
  assert.equal(recover(item({ state: STATES.UPLOADING })).state, STATES.PENDING);
  assert.equal(wake(item({ state: STATES.RETRY, next_at: 99 })).next_at, null);
  assert.equal(wake(item({ state: STATES.AUTH })).state, STATES.PENDING);
  assert.equal(wake(item({ state: STATES.ATTENTION })).state, STATES.ATTENTION);
  const all = [
    item({ id: 'a', state: STATES.PENDING }),
    item({ id: 'b', state: STATES.RETRY, next_at: 50 }),
    item({ id: 'c', state: STATES.RETRY, next_at: 20 }),
    item({ id: 'd', state: STATES.ATTENTION }),
    item({ id: 'e', state: STATES.DONE, done_at: 0 }),
    item({ id: 'f', state: STATES.DONE, done_at: 10 ** 12 }),
  ];
  assert.deepEqual(summarize(all), { waiting: 4, attention: 1, auth: 0, uploading: 0, done: 2 });
  assert.equal(nextWakeAt(all), 20);
  assert.deepEqual(prunable(all, 10 ** 12 + 1000), ['e']);
});

test('progress counts photo bytes, including the one in flight', () => {
  const i = item({ photo_ids: ['p1', 'p2'], photos_done: ['p1'] });
  const sizes = { p1: 100_000, p2: 100_000 };
  const f0 = progressFraction(i, sizes);
  const f1 = progressFraction(i, sizes, { id: 'p2', loaded: 50_000 });
  assert.ok(f0 > 0.49 && f0 < 0.5);
  assert.ok(f1 > 0.74 && f1 < 0.75);
  assert.equal(progressFraction({ ...i, state: STATES.DONE }, sizes), 1);
  assert.deepEqual(photosToSend(i), ['p2']);
});


test('a refusal reads in Chinese when the server names its code, else the status, never the English detail', () => {
  assert.equal(reasonText(422, { code: 'photo_required', detail: "Item 'JX-EQ-01' failed and needs at least one photo." }), '不合格项须至少拍一张照片');
  assert.equal(reasonText(403, { code: 'four_eyes', detail: 'The rectification submitter cannot verify it.' }), '整改提交人不能复查自己的整改');
  assert.equal(reasonText(422, { code: 'something_new', detail: 'A new rule.' }), '内容不符合要求（错误代码 something_new）');
  assert.equal(reasonText(429, { code: 'rate_limited', detail: 'Too many failed sign-ins; try again later.', retry_after: 600 }), '操作太频繁，请 10 分钟后再试');
  assert.equal(reasonText(429, { code: 'rate_limited', retry_after: 42 }), '操作太频繁，请 42 秒后再试');
  assert.equal(reasonText(503, { title: 'Service Unavailable' }), '服务器出错，稍后自动重试');
  assert.equal(reasonText(422, { code: 'bad_version', detail: '检查表版本已停用' }), '检查表版本已停用');
  assert.equal(waitText(3601), '2 小时');
  assert.equal(reasonText(413, null), '照片文件太大，服务器不收。请删掉这张照片，重拍后再提交');
});

test('pruning keeps storage flat: confirmed drafts, old synced items, old thumbnails and stale copies go', async () => {
  const { prunePlan, THUMB_CAP } = await import('../../pwa/js/outbox.js');
  const now = 10 * 24 * 3600 * 1000;
  const day = 24 * 3600 * 1000;
  const outbox = [
    { id: 'o-old', state: 'done', done_at: now - 5 * day },
    { id: 'o-new', state: 'done', done_at: now - 1000 },
    { id: 'o-wait', state: 'pending' },
  ];
  const drafts = [
    { id: 'd-old', status: 'queued', outbox_id: 'o-old', checklist_code: 'a', checklist_version: 1 },
    { id: 'd-new', status: 'queued', outbox_id: 'o-new', checklist_code: 'a', checklist_version: 2 },
    { id: 'd-wait', status: 'queued', outbox_id: 'o-wait', checklist_code: 'a', checklist_version: 3 },
    { id: 'd-open', status: 'draft', checklist_code: 'b', checklist_version: 1 },
    { id: 'd-legacy', status: 'synced', checklist_code: 'c', checklist_version: 1 },
  ];
  const thumbs = Array.from({ length: THUMB_CAP + 5 }, (_, i) => ({ id: `t:${i}`, at: i }));
  const metaKeys = ['token', 'me', 'finding:f1', 'finding:f2', 'checklist:a@1', 'checklist:a@2', 'checklist:a@3', 'checklist:b@1', 'checklist:c@1'];
  const plan = prunePlan({ outbox, drafts, thumbs, metaKeys, findingIds: ['f1'], now });
  assert.deepEqual(plan.outbox, ['o-old']);
  // Confirmed by the server (done or gone): deleted; still waiting or being filled in: kept.
  assert.deepEqual(plan.drafts.sort(), ['d-legacy', 'd-new', 'd-old']);
  assert.deepEqual(plan.thumbs.sort(), ['t:0', 't:1', 't:2', 't:3', 't:4']);
  assert.deepEqual(plan.meta.sort(), ['checklist:a@1', 'checklist:a@2', 'checklist:c@1', 'finding:f2']);
  // Nothing to do twice: the plan after applying it is empty.
  const again = prunePlan({
    outbox: outbox.filter((i) => !plan.outbox.includes(i.id)),
    drafts: drafts.filter((d) => !plan.drafts.includes(d.id)),
    thumbs: thumbs.filter((t) => !plan.thumbs.includes(t.id)),
    metaKeys: metaKeys.filter((k) => !plan.meta.includes(k)),
    findingIds: ['f1'],
    now,
  });
  assert.deepEqual(again, { outbox: [], drafts: [], thumbs: [], meta: [] });
});

test('重试 is offered only where it can change the answer', () => {
  const rect = { kind: 'rectification', error: { status: 409, code: 'already_submitted' } };
  assert.equal(retryCanHelp(rect), false);
  assert.equal(retryCanHelp({ kind: 'verification', error: { status: 403, code: 'four_eyes' } }), false);
  assert.equal(retryCanHelp({ kind: 'rectification', error: { status: 0, code: 'photo_missing' } }), false);
  assert.equal(retryCanHelp({ kind: 'inspection', error: { status: 0, code: 'photo_missing' } }), false);
  assert.equal(retryCanHelp({ kind: 'verification', error: { status: 422, code: 'evidence_required' } }), false);
  assert.equal(retryCanHelp({ kind: 'inspection', error: { status: 422, code: 'assignment_voided' } }), false);
  // Awaiting the town's decision, which may come: worth another try then.
  assert.equal(retryCanHelp({ kind: 'verification', error: { status: 409, code: 'major_decision_pending' } }), true);
  // An inspection's 409 ("being written; try again") or a refusal the world may change: worth a try.
  assert.equal(retryCanHelp({ kind: 'inspection', error: { status: 409, code: 'inspection_conflict' } }), true);
  assert.equal(retryCanHelp({ kind: 'inspection', error: { status: 422, code: 'venue_not_found' } }), true);
});

test('the network\'s return restarts a request in flight, but not an upload still moving bytes', () => {
  const now = 100_000;
  assert.equal(shouldRestart({ now }), true); // a record: no progress to see
  assert.equal(shouldRestart({ now, progressAt: 0 }), true); // an upload that never moved a byte
  assert.equal(shouldRestart({ now, progressAt: now - 5000 }), true); // stalled for 5 s
  assert.equal(shouldRestart({ now, progressAt: now - 2000 }), true);
  assert.equal(shouldRestart({ now, progressAt: now - 1999 }), false); // moving: left to finish
  assert.equal(shouldRestart({ now, progressAt: now - 100 }), false);
});
