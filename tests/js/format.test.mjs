import assert from 'node:assert/strict';
import { test } from 'node:test';

import { dateTime, deadlineInfo, dueState, isDue, majorLabel, matches, relativeDay, shanghaiDate, todayOrder } from '../../pwa/js/format.js';

const at = (s) => new Date(s).getTime();

test('dates are taken in Asia/Shanghai', () => {
  assert.equal(shanghaiDate(at('2024-05-01T16:30:00Z')), '2024-05-02');
  assert.equal(shanghaiDate(at('2024-05-01T15:59:00Z')), '2024-05-01');
  assert.equal(dateTime('2024-05-01T16:30:00Z'), '2024-05-02 00:30');
});

test('a deadline is due at the end of its day', () => {
  const now = at('2024-05-10T15:00:00Z'); // 23:00 in Shanghai
  assert.deepEqual(deadlineInfo('2024-05-10', now), { daysLeft: 0, overdue: false, label: '今天到期' });
  assert.equal(deadlineInfo('2024-05-09', now).overdue, true);
  assert.equal(deadlineInfo('2024-05-07', now).label, '超期 3 天');
  assert.equal(deadlineInfo('2024-05-12', now).label, '剩 2 天');
  assert.equal(deadlineInfo(null, now).label, '');
});

test('venues are due by risk level; never inspected is due', () => {
  const now = at('2024-06-30T00:00:00Z');
  assert.equal(isDue({ last_inspected_at: null }, now), true);
  assert.equal(isDue({ last_inspected_at: '2024-06-01T00:00:00Z', risk_level: 'normal' }, now), false);
  assert.equal(isDue({ last_inspected_at: '2024-05-01T00:00:00Z', risk_level: 'high' }, now), true);
  assert.equal(isDue({ last_inspected_at: '2024-04-01T00:00:00Z', risk_level: 'low' }, now), false);
});

test('relative days', () => {
  const now = at('2024-06-30T04:00:00Z');
  assert.equal(relativeDay(null, now), '从未检查');
  assert.equal(relativeDay('2024-06-30T01:00:00Z', now), '今天');
  assert.equal(relativeDay('2024-06-29T01:00:00Z', now), '昨天');
  assert.equal(relativeDay('2024-06-25T01:00:00Z', now), '5天前');
  assert.equal(relativeDay('2024-01-25T01:00:00Z', now), '2024-01-25');
});

test('search and ordering of the Today list', () => {
  const v = { name: '白云 小卖部', address: '白云村3组', owner_name: '张三', kind_name: '小购物场所' };
  assert.ok(matches(v, '白云小卖'));
  assert.ok(matches(v, '张三'));
  assert.ok(matches(v, '购物'));
  assert.ok(!matches(v, '李四'));
  assert.ok(matches(v, ''));
  const now = at('2024-06-30T00:00:00Z');
  const list = [
    { name: 'B', last_inspected_at: '2024-06-29T00:00:00Z', open_findings: 0 },
    { name: 'A', last_inspected_at: '2024-06-29T00:00:00Z', open_findings: 0 },
    { name: 'C', last_inspected_at: null, open_findings: 0 },
    { name: 'D', last_inspected_at: '2024-06-29T00:00:00Z', open_findings: 2 },
  ];
  // What is due comes first (C was never inspected), then open findings.
  assert.deepEqual(list.sort((a, b) => todayOrder(a, b, now)).map((x) => x.name), ['C', 'D', 'A', 'B']);
});

test("the server's schedule (next_due) decides 到期 and 即将到期, by the day in Shanghai", () => {
  const now = at('2024-06-30T16:30:00Z'); // 00:30 on 1 July in Shanghai
  assert.equal(dueState({ next_due: '2024-07-01' }, now), 'due');
  assert.equal(dueState({ next_due: '2024-06-20' }, now), 'due');
  assert.equal(dueState({ next_due: '2024-07-02' }, now), 'soon');
  assert.equal(dueState({ next_due: '2024-07-08' }, now), 'soon');
  assert.equal(dueState({ next_due: '2024-07-09' }, now), null);
  assert.equal(isDue({ next_due: '2024-07-02', last_inspected_at: null }, now), false);
  assert.equal(dueState({ last_inspected_at: null }, now), 'due'); // made on the phone: no schedule yet
  const list = [
    { name: 'later', next_due: '2024-09-01', open_findings: 3 },
    { name: 'soon', next_due: '2024-07-03', open_findings: 0 },
    { name: 'overdue', next_due: '2024-05-01', open_findings: 0 },
    { name: 'today', next_due: '2024-07-01', open_findings: 1 },
  ];
  assert.deepEqual(list.sort((a, b) => todayOrder(a, b, now)).map((x) => x.name), ['today', 'overdue', 'soon', 'later']);
});

test('a major hazard is called 疑似 until the office confirms it', () => {
  assert.equal(majorLabel({ severity: 'major', major_status: 'suspected' }), '疑似重大');
  assert.equal(majorLabel({ severity: 'major', major_status: 'suspected' }, { long: true }), '疑似重大事故隐患');
  assert.equal(majorLabel({ severity: 'major', major_status: 'confirmed' }, { long: true }), '重大事故隐患');
  assert.equal(majorLabel({ severity: 'general', major_status: 'downgraded' }), null);
  assert.equal(majorLabel({ severity: 'general', major_status: null }), null);
  // Undecided is suspected, as the notice says.
  assert.equal(majorLabel({ severity: 'major' }), '疑似重大');
});
