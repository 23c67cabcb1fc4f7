// Public reports (举报): the list to triage, and one report with its triage — accept into a finding
// (area and venue chosen here; the report's place and position go onto the finding), reject with a
// reply to the reporter, or mark as a duplicate.

import { dateTime } from '/js/format.js';
import { get, post, qs } from '../api.js';
import { errorText, EVENT_ACTION, REPORT_STATUS, SEVERITY } from '../labels.js';
import { add, field, formDialog, h, loadError, select, thumbs, toast } from '../widgets.js';
import { areaOptions, pagedList, pageSize } from './common.js';

// Whether POST /reports/{id}/triage takes a client-made id. A triage is idempotent without one (the same
// triage again answers 200 unchanged; the accepted finding's id is derived from the report's).
const TRIAGE_TAKES_ID = false;

const TABS = [
  ['received', '待核查'],
  ['accepted', '已受理'],
  ['resolved', '已整改完毕'],
  ['rejected', '不予受理'],
  ['duplicate', '重复举报'],
  ['', '全部'],
];

function place(r) {
  const pos = r.lat !== null && r.lat !== undefined && r.lng !== null && r.lng !== undefined ? `${Number(r.lat).toFixed(5)}, ${Number(r.lng).toFixed(5)}` : null;
  return [r.location_text || null, pos ? `位置 ${pos}` : null].filter(Boolean).join(' · ') || '举报人没有填写地点';
}

export async function reportsView(ctx, root, query) {
  const status = query.has('status') ? query.get('status') : 'received';
  const list = pagedList({
    testid: 'report-list',
    emptyText: status === 'received' ? '没有待核查的举报。' : '没有举报。',
    load: (cursor) => get(`/reports${qs({ status, limit: pageSize(query), cursor })}`),
    row: (r) =>
      h(
        'li',
        { class: 'frow', 'data-testid': 'report-row', 'data-id': r.id },
        h(
          'div',
          { class: 'frow-main' },
          h('p', { class: 'frow-title' }, h('a', { href: `#/report/${r.id}` }, r.category_name || r.category)),
          h('p', { class: 'small' }, r.description.length > 120 ? `${r.description.slice(0, 120)}…` : r.description),
          h('p', { class: 'small muted' }, `地点：${place(r)}`),
        ),
        h('div', { class: 'frow-side' }, h('p', { class: 'tags' }, h('span', { class: `tag report-${r.status}` }, REPORT_STATUS[r.status] || r.status)), h('p', { class: 'small muted' }, dateTime(r.created_at))),
        r.photo_ids && r.photo_ids.length ? h('div', { class: 'frow-photos' }, thumbs(r.photo_ids.slice(0, 3), '举报照片')) : null,
      ),
  });
  add(root, 
    h('h1', {}, '举报核查'),
    h('nav', { class: 'tabs', 'aria-label': '举报状态' }, TABS.map(([v, label]) => h('a', { href: `#/reports?status=${v}`, 'aria-current': v === status ? 'page' : null }, label))),
    list.node,
  );
  const r = await list.first();
  if (!r.ok) add(root, loadError(r));
}

/** Venues of an area, searchable: a search box and a select of the matches. */
function venueChooser(areaSelect, initialArea) {
  const search = h('input', { type: 'search', name: 'venue_q', placeholder: '输入场所名称、地址或负责人搜索', maxlength: '100' });
  const chooser = h('select', { name: 'venue_id', 'data-testid': 'venue-select' }, h('option', { value: '' }, '不指定场所（只按区域）'));
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    const area = areaSelect.value || initialArea || '';
    const r = await get(`/venues${qs({ area, q: search.value.trim(), limit: 100 })}`);
    if (mine !== seq) return;
    const keep = chooser.value;
    chooser.replaceChildren(h('option', { value: '' }, '不指定场所（只按区域）'));
    if (r.ok) {
      for (const v of r.data.items) chooser.append(h('option', { value: v.id, selected: v.id === keep }, `${v.name}（${v.address || '无地址'}${v.owner_name ? `，${v.owner_name}` : ''}）`));
    }
    chooser.dataset.loaded = String(mine);
  };
  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  });
  areaSelect.addEventListener('change', load);
  load();
  return { nodes: [field('搜索场所', search), field('场所', chooser, { hint: '选择场所后，隐患归属该场所所在的网格。' })], chooser };
}

function triageForm(ctx, r, dups = []) {
  const id = crypto.randomUUID();
  const radios = ['accept', 'reject', 'duplicate'].map((v) => h('input', { type: 'radio', name: 'action', value: v, id: `tr-${v}`, checked: v === 'accept' }));
  const choice = () => radios.find((x) => x.checked).value;
  const area = select('area_code', areaOptions(ctx, { all: '请选择村（社区）或网格' }), r.area_code || '');
  area.setAttribute('data-testid', 'area-select');
  const venue = venueChooser(area, r.area_code);
  const severity = select('severity', Object.entries(SEVERITY), 'general');
  const title = h('input', { name: 'title', maxlength: '500', placeholder: `默认：群众举报：${r.category_name || r.category}` });
  // What the inspectors, the ledger and the notice handed to the reported owner will read: the office can
  // take out whatever would point at the reporter (a name, "我是隔壁的") before it leaves this desk.
  const description = h('textarea', { name: 'description', rows: '4', maxlength: '4000', 'data-testid': 'triage-description' });
  description.value = r.description;
  const where = h('input', { name: 'location_text', maxlength: '500', 'data-testid': 'triage-place' });
  where.value = r.location_text || '';
  const acceptReply = h('textarea', { name: 'reply_accept', rows: '2', maxlength: '2000', placeholder: '例如：已受理，已安排网格员核查整改。' });
  const rejectReply = h('textarea', { name: 'reply_reject', rows: '3', maxlength: '2000', placeholder: '例如：经现场核查，未发现所述问题。' });
  // Reports of the last 30 days nearby or about the same venue, as the server proposes them.
  const dupOf = select('duplicate_of', [['', dups.length ? '请选择' : '附近没有相似的举报'], ...dups.map((d) => [d.id, `${dateTime(d.created_at)} ${REPORT_STATUS[d.status] || d.status}：${d.description.slice(0, 40)}`])], '');
  const dupId = h('input', { name: 'duplicate_of_id', maxlength: '36', placeholder: '或填写被重复的举报/隐患的 ID' });
  const dupReply = h('textarea', { name: 'reply_dup', rows: '2', maxlength: '2000', placeholder: '例如：该隐患已有人举报，正在整改。' });
  const error = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'triage-error' });
  const btn = h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'triage-submit' }, '提交核查结果');

  const acceptBox = h(
    'fieldset',
    { class: 'sub' },
    h('legend', {}, '受理：生成隐患'),
    h('p', { class: 'notice', 'data-testid': 'carried-place' }, `举报的地点将带到隐患上：${place(r)}`),
    r.location_text ? field('下发的地点', where, { hint: '网格员看到的是这段文字：“我家楼下”之类会暴露举报人的话请改写。' }) : null,
    field('村（社区）或网格', area, { required: true }),
    venue.nodes,
    field('隐患级别', severity, { hint: '选“重大事故隐患”会进入疑似重大隐患认定。' }),
    field('隐患标题', title),
    field('下发的隐患描述', description, { hint: '网格员、隐患台账和整改通知书上看到的是这段文字：请删去可能暴露举报人身份的内容。' }),
    field('给举报人的答复（可选）', acceptReply),
  );
  const rejectBox = h('fieldset', { class: 'sub', hidden: true }, h('legend', {}, '不予受理'), field('答复举报人的理由', rejectReply, { required: true }));
  const dupBox = h('fieldset', { class: 'sub', hidden: true }, h('legend', {}, '重复举报'), field('与哪条重复', dupOf), field('ID', dupId), field('给举报人的答复（可选）', dupReply));
  const sync = () => {
    acceptBox.hidden = choice() !== 'accept';
    rejectBox.hidden = choice() !== 'reject';
    dupBox.hidden = choice() !== 'duplicate';
  };
  for (const x of radios) x.addEventListener('change', sync);
  const labels = { accept: '受理，生成隐患', reject: '不予受理', duplicate: '重复举报' };
  let busy = false;
  return h(
    'form',
    {
      class: 'card triage',
      oninput: () => {
        if (!busy) error.textContent = '';
      },
      'data-testid': 'triage-form',
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        if (busy) return;
        error.textContent = '';
        const action = choice();
        let body;
        if (action === 'accept') {
          if (!area.value && !venue.chooser.value) {
            error.textContent = '请选择隐患所在的村（社区）或场所。';
            return;
          }
          if (!description.value.trim()) {
            error.textContent = '请填写下发的隐患描述（可以删改举报原文，但不能为空）。';
            return;
          }
          if (r.location_text && !where.value.trim()) {
            error.textContent = '请填写下发的地点（可以改写，但不能为空）。';
            return;
          }
          const edited = description.value.trim() !== r.description.trim() ? description.value.trim() : null;
          const movedPlace = r.location_text && where.value.trim() !== r.location_text.trim() ? where.value.trim() : null;
          body = { action, severity: severity.value, area_code: venue.chooser.value ? null : area.value || null, venue_id: venue.chooser.value || null, title: title.value.trim() || null, description: edited, location_text: movedPlace, reply: acceptReply.value.trim() || null };
        } else if (action === 'reject') {
          if (!rejectReply.value.trim()) {
            error.textContent = '不予受理时，请写明理由（会告诉举报人）。';
            return;
          }
          body = { action, reply: rejectReply.value.trim() };
        } else {
          const target = dupId.value.trim() || dupOf.value;
          if (!/^[0-9a-f-]{36}$/i.test(target)) {
            error.textContent = '请选择或填写被重复的举报或隐患的 ID。';
            return;
          }
          body = { action, duplicate_of: target, reply: dupReply.value.trim() || null };
        }
        for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
        if (TRIAGE_TAKES_ID) body.id = id;
        busy = true;
        btn.disabled = true;
        const res = await post(`/reports/${r.id}/triage`, body);
        busy = false;
        btn.disabled = false;
        if (!res.ok) {
          error.textContent = errorText(res);
          return;
        }
        toast(`已${labels[action]}。`);
        ctx.refresh();
      },
    },
    h('h2', {}, '核查结果'),
    h('fieldset', { class: 'choices' }, h('legend', {}, '处理方式'), radios.map((x) => h('label', { for: x.id }, x, ` ${labels[x.value]}`))),
    acceptBox,
    rejectBox,
    dupBox,
    error,
    btn,
  );
}

export async function reportView(ctx, root, _query, id) {
  const res = await get(`/reports/${encodeURIComponent(id)}`);
  add(root, h('p', {}, h('a', { class: 'back', href: '#/reports' }, '‹ 举报核查')));
  if (!res.ok) {
    add(root, h('h1', {}, '举报'), loadError(res));
    return;
  }
  const r = res.data;
  const dups = [];
  if (r.status === 'received') {
    for (const d of (r.possible_duplicates || []).slice(0, 10)) {
      const x = await get(`/reports/${encodeURIComponent(d)}`);
      if (x.ok) dups.push(x.data);
    }
  }
  add(root, 
    h('h1', {}, `举报：${r.category_name || r.category}`),
    h(
      'dl',
      { class: 'facts card' },
      h('dt', {}, '状态'), h('dd', { 'data-testid': 'report-status' }, REPORT_STATUS[r.status] || r.status),
      h('dt', {}, '收到时间'), h('dd', {}, dateTime(r.created_at)),
      h('dt', {}, '地点'), h('dd', { 'data-testid': 'report-place' }, place(r)),
      h('dt', {}, '区域'), h('dd', {}, r.area_code ? ctx.areaName(r.area_code) : '未定'),
      h('dt', {}, '举报内容'), h('dd', { class: 'pre' }, r.description),
      r.reply ? [h('dt', {}, '答复'), h('dd', {}, r.reply)] : null,
      h('dt', {}, '联系方式'), h('dd', {}, r.has_contact ? '举报人留了联系方式（仅系统管理员可查看）' : '没有留'),
      r.duplicate_of_report_id ? [h('dt', {}, '重复于'), h('dd', {}, h('a', { href: `#/report/${r.duplicate_of_report_id}` }, '另一条举报'))] : null,
      r.duplicate_of_finding_id ? [h('dt', {}, '重复于'), h('dd', {}, h('a', { href: `#/finding/${r.duplicate_of_finding_id}` }, '已有的隐患'))] : null,
      r.finding_id ? [h('dt', {}, '生成的隐患'), h('dd', {}, h('a', { href: `#/finding/${r.finding_id}`, 'data-testid': 'report-finding' }, '查看隐患'))] : null,
    ),
    voidedFindingNotice(r),
    h('h2', {}, '举报照片'),
    thumbs(r.photo_ids, '举报照片'),
    r.status === 'received' ? triageForm(ctx, r, dups) : replyButton(ctx, r),
    r.events && r.events.length
      ? [
          h('h2', {}, '处理经过'),
          h(
            'ol',
            { class: 'timeline' },
            r.events.map((e) => h('li', {}, h('strong', {}, EVENT_ACTION[e.action] || e.action), h('div', { class: 'muted small' }, `${e.actor_name || '系统'} · ${dateTime(e.at)}`), e.note ? h('div', {}, e.note) : null)),
          ),
        ]
      : null,
  );
}

/** The finding a report became was voided (a duplicate, a mistake): the report stays 已受理 for the reporter,
 * who is owed a word on what happened, until the office replies. */
function voidedFindingNotice(r) {
  const events = r.events || [];
  const voided = events.map((e) => e.action).lastIndexOf('finding_void');
  if (r.status !== 'accepted' || voided < 0) return null;
  const answered = events.slice(voided + 1).some((e) => e.action === 'reply');
  return h(
    'p',
    { class: answered ? 'notice' : 'notice warn', 'data-testid': 'finding-voided' },
    answered
      ? '所转隐患已作废，作废后已答复举报人。'
      : '所转隐患已作废。举报人凭回执码查询时仍看到“已受理”和原来的答复：请修改答复，告诉举报人处理结果。',
  );
}

/** After triage the reporter still reads the reply with the status (a finding voided, a delay): the office
 * can change it. */
function replyButton(ctx, r) {
  const btn = h('button', { type: 'button', class: 'btn secondary', 'data-testid': 'edit-reply' }, r.reply ? '修改给举报人的答复' : '答复举报人');
  btn.addEventListener('click', async () => {
    const res = await formDialog({
      title: '给举报人的答复',
      testid: 'reply-dialog',
      submitLabel: '保存答复',
      build: () => {
        const text = h('textarea', { name: 'reply', rows: '4', maxlength: '2000' });
        text.value = r.reply || '';
        return {
          fields: [field('答复（举报人凭回执码查询时看到）', text, { required: true })],
          validate: () => (text.value.trim() ? null : '请填写答复。'),
          submit: () => post(`/reports/${encodeURIComponent(r.id)}/reply`, { reply: text.value.trim() }),
        };
      },
    });
    if (res && res.ok) {
      toast('答复已保存。');
      ctx.refresh();
    }
  });
  return h('div', { class: 'actions' }, btn);
}
