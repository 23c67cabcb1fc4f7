// 双随机抽查: the office draws venues and inspectors at random (双随机一公开), follows each target's result, and
// gets what it publishes. The draw itself is the server's (seeded, reproducible: docs/paper.md); the
// console asks for one and shows it.

import { dateTime, shanghaiDate } from '/js/format.js';
import { get, post, qs } from '../api.js';
import { add, field, formDialog, h, loadError, select, toast } from '../widgets.js';
import { areaOptions, pagedList, pageSize } from './common.js';

const RISK = { low: '低', normal: '一般', high: '高' };

export async function drawsView(ctx, root, query) {
  const kinds = await get('/venue-kinds');
  const newBtn = h('button', { type: 'button', class: 'btn primary', 'data-testid': 'new-draw' }, '新建抽查');
  newBtn.addEventListener('click', async () => {
    const r = await newDraw(ctx, kinds.ok ? kinds.data : []);
    if (r && r.ok) {
      toast('已抽取。');
      ctx.go(`#/draw/${r.data.id}`);
    }
  });
  const list = pagedList({
    testid: 'draw-list',
    emptyText: '还没有抽查。',
    load: (cursor) => get(`/draws${qs({ limit: pageSize(query), cursor })}`),
    row: (d) =>
      h(
        'li',
        { class: 'frow', 'data-testid': 'draw-row' },
        h(
          'div',
          { class: 'frow-main' },
          h('p', { class: 'frow-title' }, h('a', { href: `#/draw/${d.id}` }, `${ctx.areaName(d.area_code)} · 抽取 ${d.count} 家（共 ${d.population_size} 家）`)),
          h('p', { class: 'small muted' }, `抽取时间 ${dateTime(d.created_at)} · 完成期限 ${d.due_on}`),
        ),
        h('div', { class: 'frow-side' }, h('p', { class: 'small' }, d.voided_at ? '已作废' : `已检查 ${d.inspected}/${d.count}`)),
      ),
  });
  add(root, h('div', { class: 'title-row' }, h('h1', {}, '双随机抽查'), newBtn), list.node);
  const r = await list.first();
  if (!r.ok) add(root, loadError(r));
}

async function newDraw(ctx, kinds) {
  const id = crypto.randomUUID(); // a second click, or a resend after a lost reply, is the same draw
  const today = shanghaiDate(Date.now());
  const inMonth = shanghaiDate(Date.now() + 30 * 86400000);
  return formDialog({
    title: '新建双随机抽查',
    testid: 'draw-dialog',
    submitLabel: '抽取',
    build: () => {
      const area = select('area_code', areaOptions(ctx, { all: '请选择区域' }), '');
      const kindBoxes = kinds.map((k) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'kinds', value: k.code }), ` ${k.name}`));
      const riskBoxes = Object.entries(RISK).map(([v, label]) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'risk_levels', value: v }), ` ${label}`));
      const count = h('input', { type: 'number', name: 'count', min: '1', max: '10000', step: '1', value: '5' });
      const per = h('input', { type: 'number', name: 'inspectors_per_target', min: '2', max: '10', step: '1', value: '2' });
      const due = h('input', { type: 'date', name: 'due_on', min: today, value: inMonth });
      const checked = (boxes) => boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
      return {
        fields: [
          field('抽查哪个区域（含下属网格）', area, { required: true }),
          h('fieldset', { class: 'checks' }, h('legend', {}, '场所类型（不选即全部）'), kindBoxes),
          h('fieldset', { class: 'checks' }, h('legend', {}, '风险等级（不选即全部）'), riskBoxes),
          field('抽取几家', count, { required: true }),
          field('每家派几名检查人员', per, { hint: '至少 2 名；不派本网格的网格员。' }),
          field('完成期限', due),
        ],
        validate: () => {
          if (!area.value) return '请选择区域。';
          const n = Number(count.value);
          if (!Number.isInteger(n) || n < 1) return '抽取家数须为正整数。';
          const p = Number(per.value);
          if (!Number.isInteger(p) || p < 2 || p > 10) return '每家派 2 到 10 名检查人员。';
          return null;
        },
        submit: () =>
          post('/draws', {
            id,
            area_code: area.value,
            kinds: checked(kindBoxes),
            risk_levels: checked(riskBoxes),
            count: Number(count.value),
            inspectors_per_target: Number(per.value),
            due_on: due.value || null,
          }),
      };
    },
  });
}

export async function drawView(ctx, root, _query, id) {
  add(root, h('p', {}, h('a', { class: 'back', href: '#/draws' }, '‹ 双随机抽查')));
  const [res, kinds] = await Promise.all([get(`/draws/${encodeURIComponent(id)}`), get('/venue-kinds')]);
  const kindName = new Map(kinds.ok ? kinds.data.map((k) => [k.code, k.name]) : []);
  if (!res.ok) {
    add(root, h('h1', {}, '抽查'), loadError(res));
    return;
  }
  const d = res.data;
  const done = d.targets.filter((t) => t.inspection_id).length;
  // The page the office posts (双随机一公开): the draw and its results, venue names only.
  const publicPath = `/report/draws/${d.id}`;
  const copy = h('button', { type: 'button', class: 'btn secondary', 'data-testid': 'copy-public' }, '复制公示链接');
  copy.addEventListener('click', async () => {
    const url = new URL(publicPath, location.origin).href;
    try {
      await navigator.clipboard.writeText(url);
      toast('公示链接已复制。');
    } catch {
      toast(url);
    }
  });
  // A draw made by mistake is voided, not deleted: it stays here and on its public page with the reason.
  const voidBtn =
    !d.voided_at && done === 0 ? h('button', { type: 'button', class: 'btn danger-outline', 'data-testid': 'void-draw' }, '作废这次抽查') : null;
  if (voidBtn) {
    voidBtn.addEventListener('click', async () => {
      const r = await voidDraw(d);
      if (r && r.ok) {
        toast('已作废。');
        ctx.refresh();
      }
    });
  }
  add(
    root,
    h('h1', {}, `双随机抽查：${ctx.areaName(d.area_code)}`),
    d.voided_at
      ? h('p', { class: 'notice', 'data-testid': 'draw-voided' }, `这次抽查已于 ${dateTime(d.voided_at)} 作废。理由：${/[。！？.!?]$/.test(d.void_reason) ? d.void_reason : `${d.void_reason}。`}抽中的人员不再前往检查；作废和理由同样公示。`)
      : null,
    h(
      'dl',
      { class: 'facts card', 'data-testid': 'draw-facts' },
      h('dt', {}, '抽取时间'), h('dd', {}, dateTime(d.created_at)),
      h('dt', {}, '抽取范围'), h('dd', {}, `${ctx.areaName(d.area_code)}，共 ${d.population_size} 家${d.kinds.length ? `（类型：${d.kinds.map((k) => kindName.get(k) || k).join('、')}）` : ''}${d.risk_levels.length ? `（风险：${d.risk_levels.map((r) => RISK[r] || r).join('、')}）` : ''}`),
      h('dt', {}, '抽取'), h('dd', {}, `${d.count} 家，每家 ${d.inspectors_per_target} 名检查人员（人员库 ${d.eligible_inspectors} 名，每家不派所在村、网格的人员）`),
      h('dt', {}, '完成期限'), h('dd', {}, d.due_on),
      h('dt', {}, '进度'), h('dd', { 'data-testid': 'draw-progress' }, `已检查 ${done}/${d.count}`),
      // Anyone can re-run the draw from these and get the same result: that is what makes it fair.
      h('dt', {}, '方法与种子'), h('dd', {}, h('code', {}, `${d.method} · ${d.seed}`), h('span', { class: 'muted small' }, `（复核：safegrid draw verify ${d.id}）`)),
    ),
    h('div', { class: 'actions' }, copy, h('a', { class: 'btn secondary', href: publicPath, target: '_blank', rel: 'noopener' }, '查看公示页面'), voidBtn),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table', 'data-testid': 'draw-targets' },
        h('caption', {}, '抽中的场所和检查人员'),
        h('thead', {}, h('tr', {}, ['序号', '场所', '区域', '检查人员', '检查时间', '结果'].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          {},
          d.targets.map((t) =>
            h(
              'tr',
              { class: t.findings ? 'hot' : null },
              h('td', { class: 'num' }, String(t.position + 1)),
              h('th', { scope: 'row' }, t.venue_name || '—'),
              h('td', {}, ctx.areaName(t.area_code)),
              h('td', {}, t.inspectors.map((i) => i.display_name || '—').join('、')),
              h('td', {}, t.inspected_at ? dateTime(t.inspected_at) : '未检查'),
              h('td', {}, t.outcome || '—'),
            ),
          ),
        ),
      ),
    ),
  );
}

function voidDraw(d) {
  return formDialog({
    title: '作废这次抽查',
    testid: 'void-draw-dialog',
    submitLabel: '作废',
    danger: true,
    build: () => {
      const reason = h('textarea', { name: 'reason', rows: '3', maxlength: '500' });
      return {
        fields: [
          h('p', {}, '只有在抽中的场所还没有检查时才能作废（例如范围、家数或期限选错了）。作废后抽中的人员不再前往检查，这次抽查和作废理由仍然保留并公示；需要时请重新抽取。'),
          h('p', {}, '如果有检查人员已在手机上离线做了检查、还没上传，作废后这份检查将无法上传，请先与抽中的人员确认。'),
          field('作废理由', reason, { required: true, hint: '理由将随抽查一起公示，请勿填写姓名、电话等个人信息。' }),
        ],
        validate: () => (!reason.value.trim() ? '请填写作废理由。' : null),
        // The same reason again is the same request: a resend after a lost reply is harmless.
        submit: () => post(`/draws/${d.id}/void`, { reason: reason.value.trim() }),
      };
    },
  });
}
