import { fileBlob } from '../api.js';
import * as data from '../data.js';
import * as db from '../db.js';
import { DraftSession, discardDraft, photosOf, withoutLostPhotos } from '../drafts.js';
import { LIMITS, validateRectification, validateVerification } from '../form.js';
import { dateTime, deadlineInfo, majorLabel } from '../format.js';
import { STATES, isWaiting } from '../outbox.js';
import * as sync from '../sync.js';
import { photoBlob } from '../api.js';
import { add, blobUrl, confirmDialog, emptyState, field, h, lightbox, photoButtons, photoStrip, toast } from '../ui.js';

export const STATUS_LABELS = { open: '待整改', submitted: '待复查', closed: '已销号', void: '已作废' };
const ACTION_LABELS = {
  verify_pass: '复查通过，销号',
  verify_fail: '复查不通过，退回整改',
  extend: '延期',
  escalate: '督办升级',
  created: '发现隐患',
  create: '发现隐患',
  opened: '发现隐患',
  rectification: '提交整改',
  rectified: '提交整改',
  rectify: '提交整改',
  verification: '复查',
  verify: '复查',
  verified: '复查通过',
  verification_pass: '复查通过',
  verification_fail: '复查不通过',
  reopened: '复查不通过，重新整改',
  closed: '销号',
  extension: '延期',
  extended: '延期',
  escalation: '督办升级',
  escalated: '督办升级',
  void: '作废',
  voided: '作废',
  confirm_major: '认定为重大事故隐患',
  downgrade_major: '降为一般隐患',
  update_register: '修改挂牌督办信息',
};
const SOURCE_LABELS = { inspection: '检查发现', report: '群众举报', manual: '人工登记' };

async function pendingActions() {
  const items = await db.getAll('outbox');
  const m = new Map();
  for (const i of items) {
    if ((i.kind === 'rectification' || i.kind === 'verification') && isWaiting(i) && i.ref) m.set(i.ref.finding_id, i);
  }
  return m;
}

/** Checklist items by code (codes are unique across the built-in templates): what a finding's item says
 * to do now (立即整改, 停止使用). */
async function itemsByCode() {
  const m = new Map();
  for (const t of await data.checklists()) for (const i of t.items || []) m.set(i.code, i);
  return m;
}

/** 立即整改 / 停止使用 for a finding of a same-day or structural-danger item, while still open. */
function actionTag(f, item) {
  if (!item || f.status !== 'open') return null;
  if (item.stop_use) return h('span', { class: 'tag danger' }, '停止使用');
  if (item.immediate && deadlineInfo(f.deadline).daysLeft === 0) return h('span', { class: 'tag danger' }, '立即整改');
  return null;
}

/** The inspector's note on the item (the `note` field where the server has it, else the description). */
const noteOf = (f) => f.note || f.description || '';
const placeText = (f) =>
  [f.location_text, f.lat != null && f.lng != null ? `坐标 ${f.lat.toFixed(5)}, ${f.lng.toFixed(5)}` : null].filter(Boolean).join('；');

function deadlineTag(f, item) {
  const dl = deadlineInfo(f.deadline);
  if (f.overdue || dl.overdue) return h('span', { class: 'tag danger' }, dl.overdue ? dl.label : '超期');
  if (actionTag(f, item)) return null; // 立即整改 says more than 今天到期
  if (dl.daysLeft !== null && dl.daysLeft <= 2) return h('span', { class: 'tag warn' }, dl.label);
  return h('span', { class: 'tag' }, dl.label);
}

export async function findingsView(app, root, tab = 'open') {
  const [findings, venues, pending, items] = await Promise.all([data.findings(), data.venues(), pendingActions(), itemsByCode()]);
  const names = new Map(venues.map((v) => [v.id, v.name]));
  const mine = findings
    .filter((f) => f.status === tab)
    .sort((a, b) => String(a.deadline).localeCompare(String(b.deadline)));
  const overdue = findings.filter((f) => f.status === 'open' && (f.overdue || deadlineInfo(f.deadline).overdue)).length;

  add(root, 
    h('h1', {}, '隐患整改'),
    h('p', { class: 'muted' }, `待整改 ${findings.filter((f) => f.status === 'open').length} 条，其中超期 ${overdue} 条`),
    h(
      'nav',
      { class: 'tabs', 'aria-label': '隐患状态' },
      ['open', 'submitted'].map((t) =>
        h('a', { href: `#/findings/${t}`, 'aria-current': t === tab ? 'page' : null }, t === 'open' ? '待整改' : '待复查'),
      ),
    ),
    mine.length
      ? h(
          'ul',
          { class: 'list', 'data-testid': 'finding-list' },
          mine.map((f) => {
            const p = pending.get(f.id);
            const item = items.get(f.item_code);
            return h(
              'li',
              {},
              h(
                'a',
                { class: 'row', href: `#/finding/${f.id}`, 'data-testid': 'finding-row' },
                h(
                  'span',
                  { class: 'row-main' },
                  h('strong', {}, f.title),
                  noteOf(f) ? h('span', { class: 'small row-note', 'data-testid': 'finding-note' }, `${f.source === 'report' ? '举报' : '备注'}：${noteOf(f)}`) : null,
                  h('span', { class: 'muted small' }, `${names.get(f.venue_id) || '—'} · 期限 ${f.deadline}`),
                ),
                h(
                  'span',
                  { class: 'row-tags' },
                  majorLabel(f) ? h('span', { class: 'tag danger' }, majorLabel(f)) : null,
                  actionTag(f, item),
                  deadlineTag(f, item),
                  p ? h('span', { class: 'tag info' }, p.kind === 'rectification' ? '整改待上传' : '复查待上传') : null,
                ),
              ),
            );
          }),
        )
      : emptyState(tab === 'open' ? '没有待整改的隐患。' : '没有待复查的隐患。'),
  );
}

/** Lightbox items for server photos: the full-size photo is fetched when shown (the thumbnail when
 * offline and it is cached). */
function serverItems(ids, label) {
  return ids.map((id, i) => ({
    label: ids.length > 1 ? `${label} ${i + 1}` : label,
    src: async () => {
      const blob = (await photoBlob(id, false)) || (await data.serverThumb(id));
      return blob ? URL.createObjectURL(blob) : null;
    },
  }));
}

/** Thumbnails of server photos; a tap opens them large (items: the lightbox list they belong to). */
function serverPhotos(ids, { label = '照片', items = null, offset = 0 } = {}) {
  const all = items || serverItems(ids, label);
  const ul = h('ul', { class: 'photo-strip', 'aria-label': label });
  ids.forEach((id, i) => {
    const li = h('li', {}, h('span', { class: 'photo-ph' }, '…'));
    ul.append(li);
    data.serverThumb(id).then((blob) => {
      li.replaceChildren(
        blob
          ? h(
              'button',
              { type: 'button', class: 'photo-open', 'aria-label': `查看${label} ${i + 1}`, onclick: () => lightbox(all, offset + i) },
              h('img', { src: blobUrl(blob), alt: `${label} ${i + 1}`, width: '72', height: '72' }),
            )
          : h('span', { class: 'photo-ph' }, '离线'),
      );
    });
  });
  return ul;
}

/** Before and after side by side: the finding's photos and the rectification's, the first of each large. */
function beforeAfter(before, after) {
  const items = [...serverItems(before, '整改前'), ...serverItems(after, '整改后')];
  const side = (ids, label, offset) => {
    const big = h('button', { type: 'button', class: 'photo-open', 'aria-label': `查看${label}`, onclick: () => lightbox(items, offset) }, h('span', { class: 'big photo-ph' }, ids.length ? '…' : '无照片'));
    if (ids.length) {
      data.serverThumb(ids[0]).then((blob) => {
        if (blob) big.replaceChildren(h('img', { class: 'big', src: blobUrl(blob), alt: `${label} 1` }));
      });
    } else big.disabled = true;
    return h(
      'figure',
      { 'data-testid': label === '整改前' ? 'before' : 'after' },
      h('figcaption', {}, `${label}（${ids.length} 张）`),
      big,
      ids.length > 1 ? serverPhotos(ids.slice(1), { label, items, offset: offset + 1 }) : null,
    );
  };
  return h('section', { class: 'compare', 'data-testid': 'before-after', 'aria-label': '整改前后对比' }, side(before, '整改前', 0), side(after, '整改后', before.length));
}

const PDF_REFUSALS = {
  401: '登录已过期，请重新登录后再打开',
  403: '没有权限打开这份文件',
  404: '服务器上没有这份文件，或它不在你的范围内',
};

/** Opens a printable PDF (整改通知书, 现场检查记录) fetched with the sign-in token. */
function pdfButton(label, path, name, testid) {
  const btn = h('button', { type: 'button', class: 'btn secondary block', 'data-testid': testid }, label);
  btn.addEventListener('click', async () => {
    // Opened before the fetch, while the tap still counts, so that no pop-up blocker stops it.
    const win = window.open('', '_blank');
    btn.disabled = true;
    const { blob, status } = await fileBlob(path);
    btn.disabled = false;
    if (!blob) {
      if (win) win.close();
      // Only a failed network means "go online"; a refusal from the server says what it is.
      toast(PDF_REFUSALS[status] || (status ? '文件暂时打不开，请稍后再试' : '需要联网才能打开'), { error: true });
      return;
    }
    const url = URL.createObjectURL(blob);
    if (win) win.location.href = url;
    else h('a', { href: url, download: name }).click();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  });
  return btn;
}

/** A rectification or verification draft without one photo. */
const withoutPhoto = (d, pid) => ({ ...d, photo_ids: d.photo_ids.filter((x) => x !== pid) });

export async function findingView(app, root, id) {
  const [{ finding: f, fresh }, pending, venues, items, areaList] = await Promise.all([
    data.findingDetail(id),
    pendingActions(),
    data.venues(),
    itemsByCode(),
    db.getMeta('areas'),
  ]);
  if (!f) {
    add(root, h('h1', {}, '隐患'), emptyState('手机上没有这条隐患的数据，联网后再试。'));
    return;
  }
  const venue = venues.find((v) => v.id === f.venue_id);
  const me = app.me || {};
  const p = pending.get(f.id);
  const rect = f.rectification || null;
  const mineRect = rect && rect.by === me.id;
  const dl = deadlineInfo(f.deadline);
  const item = items.get(f.item_code);
  const now = f.status === 'open' && item && (item.stop_use || (item.immediate && dl.daysLeft === 0));

  // A 双随机 draw lets an inspector read the findings of a venue outside their areas; they rectify only
  // what their own inspection found there, and verify only in their areas (as the server decides).
  // Without the area tree (never loaded) the server alone decides.
  const mine = !areaList || !areaList.length || data.myAreas(me.area_codes || [], areaList).includes(f.area_code);
  const foundByMe = (f.events || []).some((e) => e.action === 'create' && e.actor_id && e.actor_id === me.id);
  const actions = [];
  const what = p && (p.kind === 'rectification' ? '整改' : '复查');
  if (p && p.state === STATES.ATTENTION) {
    // Refused: retrying cannot help, and while it stays the finding's own actions are hidden.
    const drop = h('button', { type: 'button', class: 'btn secondary block', 'data-testid': 'drop-refused' }, `放弃这次${what}`);
    drop.addEventListener('click', async () => {
      if (!(await confirmDialog(`放弃这次${what}`, '这次填写的内容和照片会从手机上删除。', '放弃', true))) return;
      await sync.discard(p.id);
      app.go(`#/finding/${f.id}`);
    });
    const byServer = p.error && p.error.code !== 'photo_missing';
    actions.push(h('p', { class: 'notice warn', 'data-testid': 'refused' }, `这次${what}${byServer ? '被服务器拒绝' : '没能上传'}：${(p.error && p.error.detail) || '请查看同步页'}。`), drop);
  } else if (p) actions.push(h('p', { class: 'notice' }, `${what}已保存在手机上，等待上传。`));
  else if (f.status === 'open' && !(mine || foundByMe)) actions.push(h('p', { class: 'muted', 'data-testid': 'read-only' }, '这条隐患不在你的网格，由所在网格的网格员整改。'));
  else if (f.status === 'submitted' && !mine) actions.push(h('p', { class: 'muted', 'data-testid': 'read-only' }, '这条隐患不在你的网格，由所在网格的网格员复查。'));
  else if (f.status === 'open') actions.push(h('a', { class: 'btn primary block', href: `#/rectify/${f.id}`, 'data-testid': 'rectify' }, '登记整改'));
  else if (f.status === 'submitted' && !mineRect) actions.push(h('a', { class: 'btn primary block', href: `#/verify/${f.id}`, 'data-testid': 'verify' }, '复查'));
  else if (f.status === 'submitted') actions.push(h('p', { class: 'muted' }, '整改是你提交的，需由其他人复查。'));

  add(root, 
    h('p', {}, h('a', { href: `#/findings/${f.status === 'submitted' ? 'submitted' : 'open'}`, class: 'back' }, '‹ 隐患整改')),
    h('h1', {}, f.title),
    fresh ? null : h('p', { class: 'notice' }, '离线：显示的是手机上保存的数据。'),
    now && item.stop_use ? h('p', { class: 'major-flag stop' }, '⚠ 停止使用、人员撤离：房屋存在结构安全险情，整改和鉴定前不得使用。') : null,
    h(
      'dl',
      { class: 'facts card' },
      h('dt', {}, '状态'), h('dd', { 'data-testid': 'finding-status' }, STATUS_LABELS[f.status] || f.status),
      h('dt', {}, '级别'), h('dd', {}, majorLabel(f) ? h('span', { class: 'tag danger' }, majorLabel(f, { long: true })) : '一般隐患'),
      h('dt', {}, '场所'), h('dd', {}, venue ? h('a', { href: `#/venue/${venue.id}` }, venue.name) : '—'),
      // A reported hazard may have no venue: where the reporter said it is, is where to go.
      f.location_text || f.lat != null ? [h('dt', {}, '地点'), h('dd', { 'data-testid': 'finding-place' }, placeText(f))] : null,
      h('dt', {}, '期限'), h('dd', {}, `${f.deadline}${f.status === 'open' || f.status === 'submitted' ? `（${now && !dl.overdue ? (item.stop_use ? '停止使用，立即整改' : '立即整改') : dl.label}）` : ''}`),
      h('dt', {}, '来源'), h('dd', {}, SOURCE_LABELS[f.source] || f.source),
      f.escalation_level ? [h('dt', {}, '督办'), h('dd', {}, `${f.escalation_level} 级`)] : null,
    ),
    noteOf(f) ? h('p', {}, h('span', { class: 'muted' }, f.source === 'report' ? '举报内容：' : '检查备注：'), noteOf(f)) : null,
    rect && rect.photo_ids && rect.photo_ids.length && f.status === 'submitted'
      ? [h('h2', {}, '整改前后对比'), beforeAfter(f.photo_ids || [], rect.photo_ids)]
      : f.photo_ids && f.photo_ids.length
        ? [h('h2', {}, '隐患照片'), serverPhotos(f.photo_ids, { label: '隐患照片' })]
        : null,
    rect
      ? h(
          'section',
          { class: 'card' },
          h('h2', {}, '整改记录'),
          h('p', { class: 'muted small' }, `${rect.by_name || ''} · ${dateTime(rect.at)}`),
          rect.note ? h('p', {}, rect.note) : null,
          rect.photo_ids && rect.photo_ids.length ? serverPhotos(rect.photo_ids, { label: '整改照片' }) : null,
        )
      : null,
    actions,
    h(
      'div',
      { class: 'stack' },
      pdfButton('整改通知书（PDF）', `/findings/${encodeURIComponent(f.id)}/notice.pdf`, `整改通知书-${f.id}.pdf`, 'notice-pdf'),
      f.inspection_id
        ? pdfButton('现场检查记录（PDF）', `/inspections/${encodeURIComponent(f.inspection_id)}/record.pdf`, `现场检查记录-${f.inspection_id}.pdf`, 'record-pdf')
        : null,
    ),
    h('h2', {}, '处理经过'),
    f.events && f.events.length
      ? h(
          'ol',
          { class: 'timeline', 'data-testid': 'events' },
          f.events.map((e) =>
            h(
              'li',
              {},
              h('strong', {}, ACTION_LABELS[e.action] || e.action),
              e.from_status && e.to_status && e.from_status !== e.to_status
                ? h('span', { class: 'muted small' }, ` ${STATUS_LABELS[e.from_status] || e.from_status} → ${STATUS_LABELS[e.to_status] || e.to_status}`)
                : null,
              h('div', { class: 'muted small' }, `${e.actor_name || '系统'} · ${dateTime(e.at)}`),
              e.note ? h('div', {}, e.note) : null,
              e.photo_ids && e.photo_ids.length ? serverPhotos(e.photo_ids) : null,
            ),
          ),
        )
      : emptyState(fresh ? '没有记录。' : '联网后可以查看完整经过。'),
  );
}

/** The rectification and verification forms share this: note, photos, and maybe a pass/fail choice. */
async function actionForm(app, root, findingId, kind) {
  const draftId = `${kind}-${findingId}`;
  const f = (await db.get('findings', findingId)) || (await db.getMeta(`finding:${findingId}`));
  if (!f) {
    add(root, h('h1', {}, '隐患'), emptyState('手机上没有这条隐患的数据。'));
    return;
  }
  // The back button after 提交, or an old link: nothing to fill in (and no empty draft left behind).
  const waiting = (await pendingActions()).get(findingId);
  const due = kind === 'rectification' ? 'open' : 'submitted';
  if (waiting || f.status !== due) {
    const what = kind === 'rectification' ? '整改' : '复查';
    // A draft begun before the finding moved on (a colleague's verification, a void) can no longer be sent:
    // it is offered for discarding here, or it would stay on the phone for good.
    const stale = await db.get('drafts', draftId);
    const drop = stale
      ? h('button', {
          type: 'button',
          class: 'btn secondary block',
          'data-testid': 'drop-draft',
          onclick: async () => {
            if (!(await confirmDialog('放弃草稿', `这份没提交的${what}（内容和照片）会从手机上删除。`, '放弃', true))) return;
            await discardDraft(stale, stale.photo_ids || []);
            app.go(`#/finding/${findingId}`, { replace: true });
          },
        }, `放弃没提交的${what}草稿`)
      : null;
    add(
      root,
      h('p', {}, h('a', { href: `#/finding/${findingId}`, class: 'back' }, '‹ 返回隐患')),
      h('h1', {}, kind === 'rectification' ? '登记整改' : '复查'),
      emptyState(waiting ? `这条隐患已有一份${what}在手机上，等待上传。` : `这条隐患现在是“${STATUS_LABELS[f.status] || f.status}”，不能${what}。`),
      drop,
    );
    return;
  }
  const venueName = ((await data.venues()).find((v) => v.id === f.venue_id) || {}).name || '';
  const stored = (await db.get('drafts', draftId)) || { id: draftId, kind, finding_id: findingId, title: f.title, note: '', photo_ids: [], result: null, status: 'draft' };
  // The verifier judges the rectification against what was found: both sets of photos side by side.
  let compare = null;
  if (kind === 'verification') {
    const { finding: full } = await data.findingDetail(findingId);
    const rect = full && full.rectification;
    if (full && rect === undefined) {
      // Only the list row is on the phone (the finding was never opened online): the rectification is
      // unknown here, which is not the same as "no photos".
      compare = [
        h('h2', {}, '整改前后对比'),
        h('p', { class: 'notice', 'data-testid': 'rectification-unknown' }, '这部手机还没有下载整改记录和整改照片，联网后打开这条隐患即可查看。复查前请到现场核对整改情况。'),
      ];
    } else if (full) compare = [h('h2', {}, '整改前后对比'), beforeAfter(full.photo_ids || [], (rect && rect.photo_ids) || []), rect && rect.note ? h('p', {}, h('span', { class: 'muted' }, '整改说明：'), rect.note) : null];
  }
  if (!(await db.get('drafts', draftId))) await db.put('drafts', stored);
  const { draft, lost } = await withoutLostPhotos(stored, stored.photo_ids, withoutPhoto);
  const session = new DraftSession(draft);
  session.onError = () => toast('保存失败：手机存储空间可能不足', { error: true, ms: 8000 });
  app.onLeave(() => session.flush());
  const photoCache = new Map((await photosOf(draft.photo_ids)).map((p) => [p.id, p]));
  if (lost) toast(`有 ${lost} 张照片没能存到手机上，已去掉，请重拍`, { error: true, ms: 8000 });
  const strip = h('div');
  const errors = h('p', { class: 'form-error', role: 'alert' });

  const drawPhotos = () => {
    const photos = session.draft.photo_ids.map((id) => photoCache.get(id)).filter(Boolean);
    strip.replaceChildren(
      photoStrip(photos, async (pid) => {
        await session.removePhoto(pid, withoutPhoto);
        photoCache.delete(pid);
        drawPhotos();
      }),
    );
  };
  drawPhotos();
  const addFiles = async (files) => {
    for (const file of files) {
      try {
        const rec = await session.addPhoto(file, (d, pid) => ({ ...d, photo_ids: [...d.photo_ids, pid] }), withoutPhoto);
        photoCache.set(rec.id, rec);
      } catch (e) {
        if (!e.notStored) toast('这张照片无法读取，请重拍', { error: true });
      }
    }
    drawPhotos();
  };

  const note = h('textarea', {
    rows: '4',
    maxlength: String(LIMITS.note),
    required: kind === 'rectification',
    value: draft.note,
    placeholder: kind === 'rectification' ? '整改措施和结果（必填）' : '复查情况',
  });
  note.addEventListener('input', () => session.change((d) => ({ ...d, note: note.value })));

  let resultButtons = null;
  // A suspected major hazard is closed only after the town's decision: it may fail a verification, not pass.
  const awaitingDecision = f.severity === 'major' && f.major_status === 'suspected';
  if (kind === 'verification') {
    const pick = (r) => {
      session.change((d) => ({ ...d, result: r }));
      for (const b of resultButtons.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.result === r));
    };
    resultButtons = h(
      'div',
      { class: 'answers', role: 'group', 'aria-label': '复查结果' },
      h('button', { type: 'button', class: 'answer pass', 'data-result': 'pass', 'aria-pressed': String(draft.result === 'pass' && !awaitingDecision), disabled: awaitingDecision, onclick: () => pick('pass') }, '通过，销号'),
      h('button', { type: 'button', class: 'answer fail', 'data-result': 'fail', 'aria-pressed': String(draft.result === 'fail'), onclick: () => pick('fail') }, '不通过'),
    );
  }

  let sending = false;
  const submit = async (e) => {
    // A second tap while the first is being saved would queue the same rectification twice.
    if (sending) return;
    sending = true;
    const button = e && e.currentTarget;
    if (button) button.disabled = true;
    const again = () => {
      sending = false;
      if (button) button.disabled = false;
    };
    try {
      await session.flush();
      const d = session.draft;
      if (awaitingDecision && d.result === 'pass') {
        errors.textContent = '疑似重大事故隐患须经镇里认定（或降为一般隐患）后才能复查销号。';
        return again();
      }
      const check = kind === 'rectification' ? validateRectification(d) : validateVerification(d);
      if (!check.ok) {
        errors.textContent = Object.values(check.errors).join('；');
        return again();
      }
      const fields = kind === 'rectification' ? { note: d.note.trim() } : { result: d.result, note: d.note.trim() };
      await send(d, fields);
    } catch {
      // Storage full, a transaction aborted: what was typed is still in the draft; the button works again.
      errors.textContent = '保存失败：手机存储空间可能不足，请重试。';
      again();
    }
  };
  const send = async (d, fields) => {
    // The id is made here, once: every resend of this item carries it, so the server applies it once.
    const body = { id: crypto.randomUUID(), ...fields, photo_ids: d.photo_ids };
    const item = sync.newItem({
      kind,
      method: 'POST',
      title: `${kind === 'rectification' ? '整改' : d.result === 'pass' ? '复查通过' : '复查不通过'}：${f.title}${venueName ? `（${venueName}）` : ''}`,
      path: `/findings/${findingId}/${kind}`,
      body,
      photo_ids: d.photo_ids,
      ref: { finding_id: findingId },
    });
    await db.run(['drafts', 'outbox'], 'readwrite', (s) => {
      s.outbox.put(item);
      s.drafts.delete(draftId);
    });
    sync.emit({ type: 'changed' });
    app.requestBackgroundSync();
    app.drainSoon();
    toast(navigator.onLine ? '已提交，正在上传' : '已保存在手机上，联网后自动上传');
    app.go(`#/finding/${findingId}`, { replace: true });
  };

  add(root, 
    h('p', {}, h('a', { href: `#/finding/${findingId}`, class: 'back' }, '‹ 返回隐患')),
    h('h1', {}, kind === 'rectification' ? '登记整改' : '复查'),
    h('p', { class: 'muted' }, f.title),
    compare,
    resultButtons ? h('div', { class: 'field' }, h('span', { class: 'field-label' }, '复查结果'), resultButtons) : null,
    awaitingDecision && kind === 'verification' ? h('p', { class: 'notice', 'data-testid': 'awaiting-decision' }, '这是疑似重大事故隐患：须经镇里认定（或降为一般隐患）后才能复查销号。现在只能登记“不通过”。') : null,
    field(kind === 'rectification' ? '整改说明' : '复查说明', note),
    h('div', { class: 'field' }, h('span', { class: 'field-label' }, kind === 'rectification' ? '整改后照片' : '复查照片（可选）'), photoButtons(addFiles, { testid: `${kind}-` }), strip),
    errors,
    h('button', { type: 'button', class: 'btn primary block big', 'data-testid': `submit-${kind}`, onclick: submit }, '提交'),
    h(
      'button',
      {
        type: 'button',
        class: 'btn secondary block',
        onclick: async () => {
          if (!(await confirmDialog('放弃', '填写的内容和照片会从手机上删除。', '放弃', true))) return;
          await session.flush();
          await discardDraft(session.draft, session.draft.photo_ids);
          app.go(`#/finding/${findingId}`);
        },
      },
      '放弃',
    ),
  );
}

export const rectifyView = (app, root, id) => actionForm(app, root, id, 'rectification');
export const verifyView = (app, root, id) => actionForm(app, root, id, 'verification');
