// The major-hazard register (重大事故隐患 挂牌督办 台账): the stock per village that must reach zero,
// and the list of suspected and confirmed major hazards with their five 落实.

import { dateTime } from '/js/format.js';
import { get, qs } from '../api.js';
import { FINDING_STATUS, MAJOR_STATUS } from '../labels.js';
import { add, deadlineTags, field, h, loadError, majorTag, select, statusTag } from '../widgets.js';
import { areaOptions, downloadButton, pagedList, pageSize } from './common.js';

function row(ctx, f) {
  const reg = f.register;
  return h(
    'li',
    { class: 'frow', 'data-testid': 'major-row', 'data-id': f.id },
    h(
      'div',
      { class: 'frow-main' },
      h('p', { class: 'frow-title' }, h('span', { class: 'number' }, f.number || ''), ' ', h('a', { href: `#/finding/${f.id}` }, f.title)),
      h('p', { class: 'small' }, f.venue ? `${f.venue.name} · 负责人 ${f.venue.owner_name || '—'} ${f.venue.owner_phone || ''}` : f.location_text || '未指定场所', h('span', { class: 'muted' }, ` · ${ctx.areaName(f.area_code)}`)),
      reg
        ? h('p', { class: 'small' }, `责任人 ${reg.responsible_person} · 时限 ${reg.deadline} · 资金 ${reg.funds} · 督办人 ${reg.supervising_official}`)
        : h('p', { class: 'small warn' }, '尚未认定，没有挂牌督办信息'),
      f.decided_on ? h('p', { class: 'small muted' }, `认定日期 ${f.decided_on}${f.participants ? ` · 参加人员：${f.participants}` : ''}`) : null,
    ),
    h('div', { class: 'frow-side' }, h('p', { class: 'tags' }, statusTag(f), majorTag(f), ...deadlineTags(f)), h('p', { class: 'small muted' }, `发现 ${dateTime(f.created_at)}`)),
  );
}

export async function majorView(ctx, root, query) {
  const params = { area: query.get('area') || '', major_status: query.get('major_status') || '', status: query.get('status') || '' };
  const controls = {
    area: select('area', areaOptions(ctx), params.area),
    major_status: select('major_status', [['', '疑似和已认定'], ['suspected', MAJOR_STATUS.suspected], ['confirmed', MAJOR_STATUS.confirmed]], params.major_status),
    status: select('status', [['', '全部'], ...Object.entries(FINDING_STATUS)], params.status),
  };
  const form = h(
    'form',
    {
      class: 'filters card',
      role: 'search',
      'aria-label': '筛选重大隐患',
      onsubmit: (e) => {
        e.preventDefault();
        ctx.go(`#/major${qs(Object.fromEntries(Object.entries(controls).map(([k, c]) => [k, c.value])))}`);
      },
    },
    field('区域', controls.area),
    field('认定', controls.major_status),
    field('状态', controls.status),
    h('div', { class: 'filter-buttons' }, h('button', { type: 'submit', class: 'btn primary' }, '筛选'), h('a', { class: 'btn secondary', href: '#/major' }, '清除')),
  );
  const exportBtn = downloadButton('导出重大隐患台账（Excel）', `/major-hazards/export${qs(params)}`, '重大事故隐患台账.xlsx', 'export-major');
  const stock = await get(`/major-hazards/stock${qs({ area: params.area })}`);
  const list = pagedList({
    testid: 'major-list',
    emptyText: '没有重大事故隐患。',
    load: (cursor) => get(`/major-hazards${qs({ ...params, limit: pageSize(query), cursor })}`),
    row: (f) => row(ctx, f),
  });
  add(root, h('div', { class: 'title-row' }, h('h1', {}, '重大事故隐患'), exportBtn));
  if (stock.ok) {
    const total = stock.data.reduce((s, r) => s + (r.total_open || 0), 0);
    add(root, 
      h(
        'p',
        { class: `stock-line ${total ? 'danger' : 'ok'}` },
        '未销号（动态清零目标为 0）：',
        h('strong', { 'data-testid': 'major-stock' }, String(total)),
        ' 项',
        stock.data.length ? `（${stock.data.map((r) => `${r.name} ${r.total_open}`).join('，')}）` : '',
      ),
    );
  } else add(root, loadError(stock));
  add(root, form, list.node);
  const r = await list.first();
  if (!r.ok) add(root, loadError(r));
}
