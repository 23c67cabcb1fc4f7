// Figures for the assessment (考核): the villages compared over a period, as SVG bar charts and a table,
// and the exports (fetched with the bearer token and saved as files).

import { shanghaiDate } from '/js/format.js';
import { get, qs } from '../api.js';
import { barChart } from '../chart.js';
import { add, field, h, loadError, select } from '../widgets.js';
import { areaOptions, downloadButton } from './common.js';

/** [from, to] of a named period, as Asia/Shanghai dates. */
export function period(name, today = shanghaiDate(Date.now())) {
  const [y, m] = today.split('-').map(Number);
  const pad = (n) => String(n).padStart(2, '0');
  if (name === 'month') return [`${y}-${pad(m)}-01`, today];
  if (name === 'quarter') return [`${y}-${pad(Math.floor((m - 1) / 3) * 3 + 1)}-01`, today];
  if (name === 'year') return [`${y}-01-01`, today];
  const d = new Date(`${today}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 29);
  return [d.toISOString().slice(0, 10), today];
}

const pct = (v) => `${Math.round(v * 1000) / 10}%`;

const COLUMNS = [
  ['inspections', '检查次数'],
  ['findings_opened', '发现隐患'],
  ['findings_general', '其中一般'],
  ['major_opened', '其中重大'],
  ['closed', '销号'],
  ['closed_on_time', '按期销号'],
  ['on_time_rate', '按期销号率', (v) => (v === null || v === undefined ? '—' : pct(v))],
  ['avg_days_to_close', '平均整改天数', (v) => (v === null || v === undefined ? '—' : v.toFixed(1))],
  ['open', '未销号'],
  ['overdue', '超期'],
  ['major_open', '重大未销号'],
  ['verification_overdue', '复查超期'],
  ['reports_received', '收到举报'],
  ['reports_accepted', '受理举报'],
];

export async function statsView(ctx, root, query) {
  const preset = query.get('p') || (query.get('from') ? 'custom' : 'year');
  const [defFrom, defTo] = period(preset === 'custom' ? 'year' : preset);
  const from = query.get('from') || defFrom;
  const to = query.get('to') || defTo;
  // Unless an area is chosen the server picks the rows: the areas below the user's one area, each of
  // their areas when they have several, the villages for an admin.
  const area = query.get('area') || '';
  const controls = {
    p: select('p', [['month', '本月'], ['quarter', '本季度'], ['year', '本年度'], ['30d', '近 30 天'], ['custom', '自定义']], preset),
    from: h('input', { type: 'date', name: 'from', value: from }),
    to: h('input', { type: 'date', name: 'to', value: to }),
    area: select('area', areaOptions(ctx, { all: '默认（我的辖区）' }), area),
  };
  controls.p.addEventListener('change', () => {
    if (controls.p.value === 'custom') return;
    const [f, t] = period(controls.p.value);
    controls.from.value = f;
    controls.to.value = t;
  });
  const markCustom = () => {
    controls.p.value = 'custom';
  };
  controls.from.addEventListener('input', markCustom);
  controls.to.addEventListener('input', markCustom);
  const form = h(
    'form',
    {
      class: 'filters card',
      'aria-label': '统计时段',
      onsubmit: (e) => {
        e.preventDefault();
        ctx.go(`#/stats${qs({ p: controls.p.value, from: controls.from.value, to: controls.to.value, area: controls.area.value })}`);
      },
    },
    field('时段', controls.p),
    field('开始日期', controls.from),
    field('结束日期', controls.to),
    field('比较哪一级之下的区域', controls.area),
    h('div', { class: 'filter-buttons' }, h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'apply-period' }, '查看')),
  );
  const params = { area, from, to };
  add(root, 
    h('div', { class: 'title-row' }, h('h1', {}, '各村考核'), h('div', { class: 'exports' },
      downloadButton('导出考核表', `/stats/areas/export${qs(params)}`, `考核-${from}-${to}.xlsx`, 'export-stats'),
      downloadButton('导出隐患台账（全部时段）', `/findings/export${qs({ area })}`, '隐患台账.xlsx', 'export-findings'),
      downloadButton('导出重大隐患台账（全部时段）', `/major-hazards/export${qs({ area })}`, '重大事故隐患台账.xlsx', 'export-major'),
    )),
    form,
  );
  const r = await get(`/stats/areas${qs(params)}`);
  if (!r.ok) {
    add(root, loadError(r));
    return;
  }
  const rows = r.data || [];
  if (!rows.length) {
    add(root, h('p', { class: 'empty' }, '这个区域之下没有可比较的村（社区）。'));
    return;
  }
  const span = `${from} 至 ${to}`;
  // The charts compare villages; the row of what is placed on the town itself (own_level) is in the
  // table, where the figures must add up, but is no village to compare.
  const compared = rows.filter((x) => !x.own_level);
  const charts = h(
    'div',
    { class: 'charts', 'data-testid': 'charts' },
    h('figure', { class: 'card' }, h('figcaption', {}, '按期销号率'), barChart({ title: `各村按期销号率（${span}）`, description: '时段内销号的隐患中按期销号的比例', rows: compared.map((x) => ({ label: x.name, value: x.on_time_rate })), format: pct, max: 1, color: '#1e6b2e', testid: 'chart-on-time' })),
    h('figure', { class: 'card' }, h('figcaption', {}, '当前超期隐患'), barChart({ title: '各村当前超期的隐患数', description: '今天仍超期未整改的隐患', rows: compared.map((x) => ({ label: x.name, value: x.overdue })), color: '#b01c1c', testid: 'chart-overdue' })),
    h('figure', { class: 'card' }, h('figcaption', {}, '检查次数'), barChart({ title: `各村检查次数（${span}）`, description: '时段内到达服务器的检查', rows: compared.map((x) => ({ label: x.name, value: x.inspections })), color: '#0b3d75', testid: 'chart-inspections' })),
  );
  const cols = COLUMNS.filter(([k]) => rows.some((x) => k in x));
  const table = h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': '各村考核数据表' },
    h(
      'table',
      { class: 'table', 'data-testid': 'stats-table' },
      h('caption', {}, `各村考核数据（${span}）`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '村（社区）'), cols.map(([, label]) => h('th', { scope: 'col', class: 'num' }, label)))),
      h('tbody', {}, rows.map((x) => h('tr', {}, h('th', { scope: 'row' }, x.name), cols.map(([k, , fmt]) => h('td', { class: 'num' }, fmt ? fmt(x[k]) : String(x[k] ?? '—')))))),
    ),
  );
  add(root, h('div', { class: 'stats-layout' }, charts, table));
}
