// The findings ledger (隐患台账): filters, rows with venue, owner, note and photos; one finding with its
// photos before and after, its register entry, its whole history, and the office's decisions on it.

import { dateTime, shanghaiDate } from '/js/format.js';
import { get, post, put, putPhoto, qs } from '../api.js';
import { evidenceFields, readExifOf } from '/js/exif.js';
import { compress } from '/js/image.js';
import {
  escalationWords,
  EVENT_ACTION,
  FINDING_STATUS,
  MAJOR_STATUS,
  SEVERITY,
  SOURCE,
} from '../labels.js';
import { add, deadlineTags, empty, field, formDialog, h, loadError, majorTag, select, statusTag, thumbs, toast } from '../widgets.js';
import { areaOptions, downloadButton, pagedList, pageSize } from './common.js';

const FILTERS = ['q', 'status', 'severity', 'major_status', 'area', 'source', 'overdue', 'due_within', 'escalation_level', 'verification_overdue'];

/** Whose words the finding's note is: the inspector's on a failed item, the reporter's for a report. */
function noteLabel(f) {
  if (f.source === 'report') return '举报内容';
  return f.source === 'inspection' ? '网格员说明' : '说明';
}

function filterForm(ctx, query) {
  const v = (k) => query.get(k) || '';
  const controls = {
    q: h('input', { name: 'q', type: 'search', value: v('q'), maxlength: '100', placeholder: '编号、标题、说明、场所' }),
    status: select('status', [['', '全部'], ...Object.entries(FINDING_STATUS)], v('status')),
    severity: select('severity', [['', '全部'], ...Object.entries(SEVERITY)], v('severity')),
    major_status: select('major_status', [['', '全部'], ...Object.entries(MAJOR_STATUS)], v('major_status')),
    area: select('area', areaOptions(ctx), v('area')),
    source: select('source', [['', '全部'], ...Object.entries(SOURCE)], v('source')),
    overdue: select('overdue', [['', '全部'], ['true', '已超期'], ['false', '未超期']], v('overdue')),
    due_within: select('due_within', [['', '不限'], ['0', '今天到期'], ['3', '3 天内到期'], ['7', '7 天内到期']], v('due_within')),
    escalation_level: select('escalation_level', [['', '全部'], ['0', '未督办'], ['1', '一级督办'], ['2', '二级督办'], ['3', '三级督办']], v('escalation_level')),
    verification_overdue: select('verification_overdue', [['', '全部'], ['true', '复查超期']], v('verification_overdue')),
  };
  const labels = {
    q: '搜索', status: '状态', severity: '级别', major_status: '重大隐患认定', area: '区域', source: '来源',
    overdue: '超期', due_within: '即将到期', escalation_level: '督办级别', verification_overdue: '复查',
  };
  const form = h(
    'form',
    {
      class: 'filters card',
      role: 'search',
      'aria-label': '筛选隐患',
      onsubmit: (e) => {
        e.preventDefault();
        const params = {};
        for (const k of FILTERS) params[k] = controls[k].value.trim();
        ctx.go(`#/findings${qs(params)}`);
      },
    },
    FILTERS.map((k) => field(labels[k], controls[k])),
    h(
      'div',
      { class: 'filter-buttons' },
      h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'apply-filters' }, '筛选'),
      h('a', { class: 'btn secondary', href: '#/findings' }, '清除'),
    ),
  );
  return form;
}

function venueLine(f) {
  const v = f.venue;
  if (!v) return h('span', { class: 'muted' }, f.location_text ? `地点：${f.location_text}` : '未指定场所');
  return h(
    'span',
    {},
    h('strong', {}, v.name),
    v.owner_name || v.owner_phone ? h('span', { class: 'muted' }, ` · 负责人 ${v.owner_name || '—'} ${v.owner_phone || ''}`) : null,
  );
}

export function findingRow(ctx, f) {
  return h(
    'li',
    { class: 'frow', 'data-testid': 'finding-row', 'data-id': f.id },
    h(
      'div',
      { class: 'frow-main' },
      h(
        'p',
        { class: 'frow-title' },
        h('span', { class: 'number' }, f.number || ''),
        ' ',
        h('a', { href: `#/finding/${f.id}` }, f.title),
      ),
      h('p', { class: 'small' }, venueLine(f), h('span', { class: 'muted' }, ` · ${ctx.areaName(f.area_code)}`)),
      f.checklist_item && f.checklist_item !== f.title ? h('p', { class: 'small muted' }, `检查项：${f.checklist_item}`) : null,
      f.note ? h('p', { class: 'small note' }, `${noteLabel(f)}：${f.note}`) : null,
    ),
    h(
      'div',
      { class: 'frow-side' },
      h('p', { class: 'tags' }, statusTag(f), majorTag(f), ...deadlineTags(f)),
      h('p', { class: 'small muted' }, f.status === 'closed' ? `销号 ${dateTime(f.closed_at)}` : `期限 ${f.deadline}`),
    ),
    f.photo_ids && f.photo_ids.length ? h('div', { class: 'frow-photos' }, thumbs(f.photo_ids.slice(0, 3), `${f.number || f.title} 隐患照片`)) : null,
  );
}

export async function findingsView(ctx, root, query) {
  const params = {};
  for (const k of FILTERS) if (query.get(k)) params[k] = query.get(k);
  const exportBtn = downloadButton('导出隐患台账（Excel）', `/findings/export${qs(params)}`, '隐患台账.xlsx', 'export-findings');
  const list = pagedList({
    testid: 'finding-list',
    emptyText: '没有符合条件的隐患。',
    load: (cursor) => get(`/findings${qs({ ...params, limit: pageSize(query), cursor })}`),
    row: (f) => findingRow(ctx, f),
  });
  const form = filterForm(ctx, query);
  // The filters in words, e.g. when the list was opened from a tile of the work queue.
  const active = [];
  for (const el of form.querySelectorAll('input, select')) {
    if (!el.value) continue;
    const label = form.querySelector(`label[for="${el.id}"]`);
    const text = el.tagName === 'SELECT' ? el.selectedOptions[0].textContent.trim() : el.value;
    active.push(`${label ? label.textContent : el.name}：${text}`);
  }
  add(
    root,
    h('div', { class: 'title-row' }, h('h1', {}, '隐患台账'), exportBtn),
    active.length ? h('p', { class: 'notice', 'data-testid': 'active-filters' }, `当前筛选：${active.join('；')}`) : null,
    form,
    list.node,
  );
  const r = await list.first();
  if (!r.ok) add(root, loadError(r));
}

// ---- one finding ----------------------------------------------------------------------------

function facts(ctx, f) {
  const v = f.venue;
  const pos = f.lat !== null && f.lat !== undefined && f.lng !== null && f.lng !== undefined ? `${Number(f.lat).toFixed(5)}, ${Number(f.lng).toFixed(5)}` : null;
  const row = (k, val, testid) => (val === null || val === undefined || val === '' ? null : [h('dt', {}, k), h('dd', { 'data-testid': testid || null }, val)]);
  return h(
    'dl',
    { class: 'facts card' },
    row('状态', statusTag(f)),
    // Major but not yet decided is 疑似 (the office's 认定 makes it 重大), as on the phone and the notice.
    row('级别', f.severity === 'major' && f.major_status !== 'confirmed' ? '疑似重大事故隐患' : SEVERITY[f.severity] || f.severity, 'severity'),
    row('重大隐患认定', f.major_status ? MAJOR_STATUS[f.major_status] : null, 'major-status'),
    row('区域', ctx.areaName(f.area_code)),
    row('场所', v ? `${v.name}${v.address ? `（${v.address}）` : ''}` : '未指定场所', 'venue'),
    row('负责人', v && (v.owner_name || v.owner_phone) ? `${v.owner_name || ''} ${v.owner_phone || ''}` : null),
    row('地点', f.location_text, 'location'),
    row('位置', pos, 'position'),
    row('来源', SOURCE[f.source] || f.source),
    row('检查项', f.checklist_item),
    row(noteLabel(f), f.note === f.description ? null : f.note, 'note'),
    row('整改期限', h('span', {}, `${f.deadline} `, ...deadlineTags(f)), 'deadline'),
    row('督办', escalationWords(f.escalation_level)),
    row('发现时间', dateTime(f.created_at)),
    row('整改提交', f.rectified_at ? dateTime(f.rectified_at) : null),
    row('销号时间', f.closed_at ? dateTime(f.closed_at) : null),
  );
}

const REGISTER_FIELDS = [
  ['responsible_person', '责任落实：责任人', 'input'],
  ['measures', '措施落实：整改措施', 'textarea'],
  ['funds', '资金落实：整改资金', 'input'],
  ['deadline', '时限落实：整改时限', 'date'],
  ['contingency_plan', '预案落实：应急预案', 'textarea'],
  ['supervising_official', '督办人', 'input'],
];

function registerSection(f) {
  const r = f.register;
  if (!r) return null;
  return h(
    'section',
    { class: 'card register', 'aria-labelledby': 'reg-h', 'data-testid': 'register' },
    h('h2', { id: 'reg-h' }, '挂牌督办（五落实）'),
    h(
      'dl',
      { class: 'facts' },
      REGISTER_FIELDS.map(([k, label]) => [h('dt', {}, label), h('dd', {}, r[k] || '—')]),
      f.decided_on ? [h('dt', {}, '认定日期'), h('dd', {}, f.decided_on)] : null,
      f.participants ? [h('dt', {}, '参加认定人员'), h('dd', {}, f.participants)] : null,
    ),
  );
}

function registerInputs(existing, { minDeadline } = {}) {
  const inputs = {};
  const fields = REGISTER_FIELDS.map(([k, label, kind]) => {
    const attrs = { name: k, value: existing ? existing[k] || '' : '', 'data-field': k };
    let input;
    if (kind === 'textarea') input = h('textarea', { ...attrs, rows: '2', maxlength: '2000' });
    else if (kind === 'date') input = h('input', { ...attrs, type: 'date', ...(minDeadline ? { min: minDeadline } : {}) });
    else input = h('input', { ...attrs, maxlength: '200' });
    inputs[k] = input;
    return field(label, input, { required: true });
  });
  const values = () => Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value.trim()]));
  const missing = () => {
    const m = REGISTER_FIELDS.filter(([k]) => !inputs[k].value.trim()).map(([, l]) => l.split('：').pop());
    return m.length ? `请填写：${m.join('、')}。` : null;
  };
  return { fields, values, missing };
}

async function majorDecision(ctx, f) {
  const id = crypto.randomUUID();
  return formDialog({
    title: '重大事故隐患认定',
    testid: 'major-dialog',
    submitLabel: '提交认定',
    build: () => {
      const confirm = h('input', { type: 'radio', name: 'decision', value: 'confirm', checked: true, id: 'dec-confirm' });
      const downgrade = h('input', { type: 'radio', name: 'decision', value: 'downgrade', id: 'dec-downgrade' });
      const decided = h('input', { type: 'date', name: 'decided_on', value: shanghaiDate(Date.now()), max: shanghaiDate(Date.now()) });
      const participants = h('textarea', { name: 'participants', rows: '2', maxlength: '500', placeholder: '例如：镇应急办 李主任、安监站 张工、白云村 王书记' });
      const note = h('textarea', { name: 'note', rows: '2', maxlength: '2000' });
      // A hazard suspected last week may be past its first deadline: the register's deadline is a new one,
      // which the server accepts from today on.
      const today = shanghaiDate(Date.now());
      const reg = registerInputs({ deadline: f.deadline < today ? today : f.deadline }, { minDeadline: today });
      const regBox = h('fieldset', { class: 'register-fields' }, h('legend', {}, '挂牌督办：五落实与督办人'), reg.fields);
      // Downgraded, it is a general hazard with a deadline of its own (the suspicion's was days short).
      // Left empty, the deadline stays as it is (an overdue one stays overdue, its lateness on record).
      const generalDeadline = h('input', { type: 'date', name: 'general_deadline', min: today, value: f.deadline < today ? '' : f.deadline, 'data-testid': 'downgrade-deadline' });
      const generalBox = field('一般隐患的整改期限', generalDeadline, { hint: f.deadline < today ? `原期限 ${f.deadline} 已过；留空则不变，仍按超期处理。` : '可改为一般隐患应有的期限。' });
      const sync = () => {
        regBox.hidden = !confirm.checked;
        generalBox.hidden = confirm.checked;
      };
      sync();
      confirm.addEventListener('change', sync);
      downgrade.addEventListener('change', sync);
      return {
        fields: [
          h('p', { class: 'muted' }, `${f.number || ''} ${f.title}`),
          h(
            'fieldset',
            { class: 'choices' },
            h('legend', {}, '认定结论'),
            h('label', { for: 'dec-confirm' }, confirm, ' 认定为重大事故隐患（挂牌督办）'),
            h('label', { for: 'dec-downgrade' }, downgrade, ' 不构成重大，降为一般隐患'),
          ),
          field('认定日期', decided, { required: true }),
          field('参加认定人员', participants, { required: true }),
          regBox,
          generalBox,
          field('说明', note),
        ],
        validate: () => {
          if (!decided.value) return '请填写认定日期。';
          if (!participants.value.trim()) return '请填写参加认定的人员。';
          if (confirm.checked) return reg.missing();
          return null;
        },
        submit: () =>
          post(`/findings/${f.id}/major-decision`, {
            id,
            decision: confirm.checked ? 'confirm' : 'downgrade',
            decided_on: decided.value,
            participants: participants.value.trim(),
            note: note.value.trim() || null,
            register: confirm.checked ? reg.values() : null,
            deadline: !confirm.checked && generalDeadline.value && generalDeadline.value !== f.deadline ? generalDeadline.value : null,
          }),
      };
    },
  });
}

async function registerEdit(ctx, f) {
  const id = crypto.randomUUID();
  return formDialog({
    title: '修改挂牌督办信息',
    testid: 'register-dialog',
    submitLabel: '保存',
    build: () => {
      const reg = registerInputs(f.register);
      return { fields: reg.fields, validate: reg.missing, submit: () => put(`/findings/${f.id}/register`, { id, ...reg.values() }) };
    },
  });
}

async function extension(ctx, f) {
  const id = crypto.randomUUID();
  return formDialog({
    title: '延期',
    testid: 'extension-dialog',
    submitLabel: '批准延期',
    build: () => {
      // The earliest date the server accepts: after the current deadline, and not in the past.
      const dayAfter = new Date(Date.parse(`${f.deadline}T00:00:00Z`) + 86400000).toISOString().slice(0, 10);
      const today = shanghaiDate(Date.now());
      const deadline = h('input', { type: 'date', name: 'deadline', min: dayAfter > today ? dayAfter : today });
      const reason = h('textarea', { name: 'reason', rows: '3', maxlength: '2000' });
      return {
        fields: [h('p', { class: 'muted' }, `现在的整改期限：${f.deadline}`), field('新的整改期限', deadline, { required: true }), field('延期理由', reason, { required: true })],
        validate: () => (!deadline.value ? '请选择新的整改期限。' : !reason.value.trim() ? '请填写延期理由。' : null),
        submit: () => post(`/findings/${f.id}/extension`, { id, deadline: deadline.value, reason: reason.value.trim() }),
      };
    },
  });
}

async function voidFinding(ctx, f) {
  const id = crypto.randomUUID();
  return formDialog({
    title: '作废这条隐患',
    testid: 'void-dialog',
    submitLabel: '作废',
    danger: true,
    build: () => {
      const reason = h('textarea', { name: 'reason', rows: '3', maxlength: '2000' });
      return {
        fields: [h('p', {}, '作废后这条隐患不再计入考核，操作会记录在处理经过中。'), field('作废理由', reason, { required: true })],
        validate: () => (!reason.value.trim() ? '请填写作废理由。' : null),
        submit: () => post(`/findings/${f.id}/void`, { id, reason: reason.value.trim() }),
      };
    },
  });
}

async function verification(ctx, f) {
  const id = crypto.randomUUID();
  // Each chosen photo gets its id once, so sending again after a failure uploads nothing twice.
  let photos = [];
  return formDialog({
    title: '复查',
    testid: 'verify-dialog',
    submitLabel: '提交复查',
    build: () => {
      const pass = h('input', { type: 'radio', name: 'result', value: 'pass', id: 'ver-pass' });
      const fail = h('input', { type: 'radio', name: 'result', value: 'fail', id: 'ver-fail' });
      const note = h('textarea', { name: 'note', rows: '3', maxlength: '4000' });
      const files = h('input', { type: 'file', name: 'photos', accept: 'image/jpeg,image/png,image/webp', multiple: true });
      files.addEventListener('change', () => {
        photos = [...files.files].slice(0, 20).map((file) => ({ id: crypto.randomUUID(), file, done: false }));
      });
      const major = f.major_status === 'confirmed';
      return {
        fields: [
          h(
            'fieldset',
            { class: 'choices' },
            h('legend', {}, '复查结果'),
            h('label', { for: 'ver-pass' }, pass, ' 通过，销号'),
            h('label', { for: 'ver-fail' }, fail, ' 不通过，退回整改'),
          ),
          field('复查说明', note),
          field('复查照片（可选）', files, { hint: major ? '重大事故隐患销号须有整改或复查照片。' : '现场复查拍的照片。' }),
        ],
        validate: () => (!pass.checked && !fail.checked ? '请选择复查结果。' : fail.checked && !note.value.trim() ? '不通过时请写明原因。' : null),
        submit: async () => {
          for (const p of photos) {
            if (p.done) continue;
            p.ready = p.ready || preparePhoto(p.file); // once: a retry sends the same bytes under the same id
            const ready = await p.ready;
            const up = await putPhoto(p.id, ready.blob, ready);
            if (!up.ok) return up;
            p.done = true;
          }
          return post(`/findings/${f.id}/verification`, { id, result: pass.checked ? 'pass' : 'fail', note: note.value.trim() || null, photo_ids: photos.map((p) => p.id) });
        },
      };
    },
  });
}

const FIELD_WORDS = {
  deadline: '整改期限',
  escalation_level: '督办级别',
  severity: '级别',
  major_status: '重大隐患认定',
  status: '状态',
  responsible_person: '责任人',
  measures: '整改措施',
  funds: '整改资金',
  contingency_plan: '应急预案',
  supervising_official: '督办人',
  decided_on: '认定日期',
  participants: '参加认定人员',
  register: '挂牌督办',
};

function words(key, v) {
  if (v === null || v === undefined || v === '') return '无';
  if (key === 'escalation_level') return escalationWords(v);
  // A finding is made major only as suspected (疑似); the decision changes major_status, never severity, so
  // in a history "major" is always the suspicion (a downgrade goes from it, a confirmation leaves it).
  if (key === 'severity') return v === 'major' ? '疑似重大事故隐患' : SEVERITY[v] || v;
  if (key === 'major_status') return MAJOR_STATUS[v] || v;
  if (key === 'status') return FINDING_STATUS[v] || v;
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => `${FIELD_WORDS[k] || k}：${words(k, x)}`).join('，');
  return String(v);
}

/** What an event changed, from its data ({field: {before, after}} or plain values), in words. */
function eventData(e) {
  const parts = [];
  for (const [k, v] of Object.entries(e.data || {})) {
    if (v && typeof v === 'object' && ('before' in v || 'after' in v)) {
      if (v.before && typeof v.before === 'object') {
        for (const key of Object.keys({ ...v.before, ...(v.after || {}) })) {
          const b = v.before[key];
          const a = (v.after || {})[key];
          if (JSON.stringify(a) !== JSON.stringify(b)) parts.push(`${FIELD_WORDS[key] || key}：${words(key, b)} → ${words(key, a)}`);
        }
      } else if (JSON.stringify(v.before) !== JSON.stringify(v.after)) parts.push(`${FIELD_WORDS[k] || k}：${words(k, v.before)} → ${words(k, v.after)}`);
    } else if (FIELD_WORDS[k]) parts.push(`${FIELD_WORDS[k]}：${words(k, v)}`);
    else if (k === 'register' && v && typeof v === 'object') parts.push(words(k, v));
  }
  return parts.length ? h('div', { class: 'small change' }, parts.join('；')) : null;
}

function history(f) {
  const events = f.events || [];
  if (!events.length) return empty('没有记录。');
  return h(
    'ol',
    { class: 'timeline', 'data-testid': 'events' },
    events.map((e) =>
      h(
        'li',
        { 'data-action': e.action },
        h('strong', {}, EVENT_ACTION[e.action] || e.action),
        e.from_status && e.to_status && e.from_status !== e.to_status
          ? h('span', { class: 'muted small' }, `（${FINDING_STATUS[e.from_status] || e.from_status} → ${FINDING_STATUS[e.to_status] || e.to_status}）`)
          : null,
        h('div', { class: 'muted small' }, `${e.actor_name || '系统'} · ${dateTime(e.at)}`),
        e.note ? h('div', {}, e.note) : null,
        eventData(e),
        e.photo_ids && e.photo_ids.length ? thumbs(e.photo_ids, `${EVENT_ACTION[e.action] || e.action}的照片`) : null,
      ),
    ),
  );
}

export async function findingView(ctx, root, _query, id) {
  const r = await get(`/findings/${encodeURIComponent(id)}`);
  add(root, h('p', {}, h('a', { class: 'back', href: '#/findings' }, '‹ 隐患台账')));
  if (!r.ok) {
    add(root, h('h1', {}, '隐患'), loadError(r));
    return;
  }
  const f = r.data;
  const rect = f.rectification;
  const after = [...((rect && rect.photo_ids) || [])];
  for (const e of f.events || []) if ((e.action === 'verify_pass' || e.action === 'verify_fail') && e.photo_ids) after.push(...e.photo_ids);
  const live = f.status === 'open' || f.status === 'submitted';
  const act = (label, fn, testid, cls = 'btn secondary') =>
    h('button', {
      type: 'button',
      class: cls,
      'data-testid': testid,
      onclick: async () => {
        const res = await fn(ctx, f);
        if (res && res.ok) {
          toast('已保存。');
          ctx.refresh();
        }
      },
    }, label);
  const actions = [];
  if (f.major_status === 'suspected' && live) actions.push(act('重大隐患认定', majorDecision, 'act-major', 'btn primary'));
  if (f.major_status === 'confirmed' && live) actions.push(act('修改挂牌督办信息', registerEdit, 'act-register'));
  if (live) actions.push(act('延期', extension, 'act-extend'));
  if (f.status === 'submitted') actions.push(act('复查', verification, 'act-verify', 'btn primary'));
  if (f.status !== 'void') actions.push(act('作废', voidFinding, 'act-void', 'btn danger-outline'));
  const mine = rect && ctx.me && rect.by === ctx.me.id;
  // Paper for the owner and the file: the notice of this finding (with the others of its visit), and the
  // record of the inspection that found it.
  const papers = [
    f.status !== 'void' ? downloadButton('整改通知书（PDF）', `/findings/${f.id}/notice.pdf`, `整改通知书-${f.number || f.id}.pdf`, 'pdf-notice') : null,
    f.inspection_id ? downloadButton('现场检查记录（PDF）', `/inspections/${f.inspection_id}/record.pdf`, `现场检查记录-${f.number || f.id}.pdf`, 'pdf-record') : null,
  ].filter(Boolean);

  add(root, 
    h('h1', { 'data-testid': 'finding-title' }, h('span', { class: 'number' }, f.number || ''), ' ', f.title),
    h('p', { class: 'tags' }, statusTag(f), majorTag(f), ...deadlineTags(f)),
    actions.length ? h('div', { class: 'actions', role: 'group', 'aria-label': '处理' }, actions) : null,
    papers.length ? h('div', { class: 'actions', role: 'group', 'aria-label': '文书' }, papers) : null,
    mine && f.status === 'submitted' ? h('p', { class: 'notice' }, '这次整改是你提交的，须由其他人复查（四眼原则）。') : null,
    h(
      'div',
      { class: 'detail-grid' },
      h('section', { 'aria-labelledby': 'facts-h' }, h('h2', { id: 'facts-h' }, '基本情况'), facts(ctx, f), f.description ? h('p', { class: 'card', 'data-testid': 'description' }, h('span', { class: 'muted' }, `${f.source === 'report' ? '举报内容（核查后下发）' : '描述'}：`), f.description) : null, registerSection(f)),
      h(
        'section',
        { 'aria-labelledby': 'photos-h' },
        h('h2', { id: 'photos-h' }, '照片'),
        h(
          'div',
          { class: 'before-after' },
          h('figure', { 'data-testid': 'photos-before' }, h('figcaption', {}, '整改前'), thumbs(f.photo_ids, '整改前照片')),
          h('figure', { 'data-testid': 'photos-after' }, h('figcaption', {}, '整改后'), thumbs(after, '整改后照片')),
        ),
        rect
          ? h('div', { class: 'card' }, h('h3', {}, '整改记录'), h('p', { class: 'muted small' }, `${rect.by_name || ''} · ${dateTime(rect.at)}`), rect.note ? h('p', {}, rect.note) : null)
          : null,
      ),
    ),
    h('h2', {}, '处理经过'),
    history(f),
  );
}

/** A photo as the phone app sends it: compressed in the browser to ≤ 1600 px with a 320 px thumbnail (a
 * camera's 4 MB becomes about 400 kB on the office's line, and the server keeps the thumbnail instead of
 * decoding the photo), and when and where it was taken read from its EXIF first, since the canvas drops
 * it. A file the browser cannot draw (HEIC on most desktops) goes as it is; the server converts it and
 * reads its EXIF itself. */
async function preparePhoto(file) {
  const [exif, small] = await Promise.all([readExifOf(file), compress(file).catch(() => null)]);
  if (!small) return { blob: file, thumb: null, fields: {} };
  const { captured_at = null, lat = null, lng = null, accuracy_m = null } = exif || {};
  const blob = new File([small.blob], `${(file.name || 'photo').replace(/\.[^.]*$/, '')}.jpg`, { type: 'image/jpeg' });
  return { blob, thumb: small.thumb, fields: evidenceFields({ captured_at, lat, lng, accuracy_m }) };
}
