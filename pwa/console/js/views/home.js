// Home: the work queue (what waits for the office) and the major-hazard stock that must reach zero.

import { get } from '../api.js';
import { add, h, loadError } from '../widgets.js';

function tile(count, label, href, testid, { danger = false, hint } = {}) {
  return h(
    'li',
    {},
    h(
      'a',
      { class: `tile${danger && count > 0 ? ' danger' : ''}${count === 0 ? ' zero' : ''}`, href, 'data-testid': testid },
      h('strong', { class: 'tile-count' }, String(count ?? '—')),
      h('span', { class: 'tile-label' }, label),
      hint ? h('span', { class: 'tile-hint' }, hint) : null,
    ),
  );
}

export async function homeView(ctx, root) {
  const [q, stock] = await Promise.all([get('/queue'), get('/major-hazards/stock')]);
  add(root, h('h1', {}, '工作台'));
  if (!q.ok) {
    add(root, loadError(q));
  } else {
    const d = q.data;
    const lvl = d.overdue_by_level || {};
    add(root, 
      h('h2', { id: 'queue-h' }, '待办'),
      h(
        'ul',
        { class: 'tiles', 'aria-labelledby': 'queue-h', 'data-testid': 'queue' },
        tile(d.reports_to_triage, '群众举报待核查', '#/reports?status=received', 'q-reports'),
        tile(d.major_to_decide, '疑似重大隐患待认定', '#/findings?major_status=suspected', 'q-major', { danger: true }),
        tile(d.due_soon, '3 天内到期', '#/findings?due_within=3', 'q-due'),
        tile(lvl['1'] ?? 0, '超期 · 一级督办', '#/findings?overdue=true&escalation_level=1', 'q-overdue-1', { danger: true, hint: '超期 1 天起' }),
        tile(lvl['2'] ?? 0, '超期 · 二级督办', '#/findings?overdue=true&escalation_level=2', 'q-overdue-2', { danger: true, hint: '超期 7 天起' }),
        tile(lvl['3'] ?? 0, '超期 · 三级督办', '#/findings?overdue=true&escalation_level=3', 'q-overdue-3', { danger: true, hint: '超期 30 天起' }),
        tile(d.awaiting_verification, '整改待复查', '#/findings?status=submitted', 'q-verify'),
        tile(d.verification_overdue, '复查超期', '#/findings?verification_overdue=true', 'q-verify-overdue', { danger: true }),
      ),
    );
  }
  add(root, h('h2', { id: 'stock-h' }, '重大事故隐患 动态清零'));
  if (!stock.ok) {
    add(root, loadError(stock));
    return;
  }
  const rows = stock.data || [];
  const total = rows.reduce((s, r) => s + (r.total_open || 0), 0);
  add(root, 
    h(
      'div',
      { class: `stock card${total ? ' danger' : ' ok'}` },
      h('p', { class: 'stock-number', 'data-testid': 'major-stock' }, h('strong', {}, String(total)), ' 项'),
      h('p', {}, total ? '未销号的重大事故隐患（含疑似），必须清零。' : '重大事故隐患已清零。'),
    ),
    rows.length
      ? h(
          'table',
          { class: 'table', 'data-testid': 'stock-table' },
          h('caption', {}, '各村（社区）未销号的重大事故隐患'),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '村（社区）'), h('th', { scope: 'col', class: 'num' }, '疑似重大'), h('th', { scope: 'col', class: 'num' }, '已认定重大'), h('th', { scope: 'col', class: 'num' }, '合计'))),
          h(
            'tbody',
            {},
            rows.map((r) =>
              h(
                'tr',
                { class: r.total_open ? 'hot' : '' },
                // The town's own row counts only what is filed on the town itself: a link to the area's register
                // would list the villages' too.
                h('th', { scope: 'row' }, r.own_level ? r.name : h('a', { href: `#/major?area=${encodeURIComponent(r.area_code)}` }, r.name)),
                h('td', { class: 'num' }, String(r.suspected_open)),
                h('td', { class: 'num' }, String(r.confirmed_open)),
                h('td', { class: 'num' }, h('strong', {}, String(r.total_open))),
              ),
            ),
          ),
        )
      : null,
  );
}
