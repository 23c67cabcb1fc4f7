import * as data from '../data.js';
import * as db from '../db.js';
import { DraftSession, discardDraft, photosOf, withoutLostPhotos } from '../drafts.js';
import {
  LIMITS,
  RESULT_LABELS,
  addPhoto,
  allPhotoIds,
  buildInspectionBody,
  failAction,
  forKind,
  groupByCategory,
  itemProblem,
  removePhoto,
  setNote,
  setResult,
  validate,
} from '../form.js';
import * as sync from '../sync.js';
import { add, clear, confirmDialog, emptyState, h, photoButtons, photoStrip, toast } from '../ui.js';

/** An inspection draft without one photo, from whichever answer holds it. */
function withoutPhoto(draft, photoId) {
  const code = Object.keys(draft.answers).find((c) => (draft.answers[c].photo_ids || []).includes(photoId));
  return code ? removePhoto(draft, code, photoId) : draft;
}

function tellLost(lost) {
  if (lost) toast(`有 ${lost} 张照片没能存到手机上，已从检查中去掉，请重拍`, { error: true, ms: 8000 });
}

async function load(id) {
  const stored = await db.get('drafts', id);
  if (!stored) return {};
  // Repaired here, so the checklist and the summary (where "退回修改" leads) both get it.
  const { draft, lost } = await withoutLostPhotos(stored, allPhotoIds(stored), withoutPhoto);
  // The version the draft was started with, never a newer one a refresh brought in meanwhile.
  const template = await data.templateFor(draft.checklist_code, draft.checklist_version);
  // Drafts begun before they kept their venue's kind take it from the venue.
  const kind = draft.venue_kind !== undefined ? draft.venue_kind : (await data.venue(draft.venue_id))?.kind;
  // What the inspector sees and answers: the items that can apply to this kind of venue.
  return { draft, template, shown: forKind(template, kind), lost };
}

function actionNote(item) {
  const act = failAction(item);
  if (act.kind === 'stop') return h('p', { class: 'major-flag stop', 'data-testid': 'stop-use' }, `⚠ ${act.detail}`);
  if (act.kind === 'now') return h('p', { class: 'act-now', 'data-testid': 'act-now' }, act.detail);
  return null;
}

/** Record where the inspector is, without making anyone wait for it. The fix may arrive after the
 * inspector has moved on to the summary, so it is merged into the stored draft, not into a stale copy. */
function captureGps(session, isActive, onFix = null) {
  if (!('geolocation' in navigator) || session.draft.lat != null) return;
  navigator.geolocation.getCurrentPosition(
    (p) => {
      const fix = { lat: p.coords.latitude, lng: p.coords.longitude, accuracy_m: Math.round(p.coords.accuracy) };
      if (isActive()) session.change((d) => ({ ...d, ...fix })).then(() => onFix && onFix());
      else db.update('drafts', session.draft.id, (d) => (d && d.status === 'draft' && d.lat == null ? { ...d, ...fix } : undefined));
    },
    () => {},
    { enableHighAccuracy: true, timeout: 30000, maximumAge: 60000 },
  );
}

/** An inspection already sent (the back button after 提交, an old link): its screens are gone, so the
 * inspector is taken on to its venue (or today's work), not shown an empty page on the way back. */
function sentAlready(app, draft) {
  toast(draft ? '这份检查已经提交，不能再修改' : '这份检查已经提交或放弃');
  app.go(draft && draft.venue_id ? `#/venue/${draft.venue_id}` : '#/today', { replace: true });
}

export async function inspectView(app, root, id) {
  const { draft, shown: template, lost } = await load(id);
  if (!draft || draft.status !== 'draft') {
    sentAlready(app, draft);
    return;
  }
  if (!template) {
    add(root, h('h1', {}, draft.venue_name), emptyState('手机上没有这份检查所用的检查表版本，联网后再打开。'), h('a', { class: 'btn secondary', href: '#/today' }, '返回'));
    return;
  }
  const session = new DraftSession(draft);
  session.onError = () => toast('保存失败：手机存储空间可能不足', { error: true, ms: 8000 });
  let active = true;
  app.onLeave(() => {
    active = false;
    return session.flush();
  });
  captureGps(session, () => active);

  const photoCache = new Map((await photosOf(allPhotoIds(draft))).map((p) => [p.id, p]));
  tellLost(lost);
  const cards = new Map();
  const progress = h('span', { class: 'progress-text', 'aria-live': 'polite' });
  const bar = h('progress', { max: String(template.items.length), value: '0', 'aria-label': '答题进度' });

  function updateProgress() {
    const c = validate(template, session.draft).counts;
    const done = c.total - c.unanswered;
    progress.textContent = `已答 ${done}/${c.total}` + (c.fail ? ` · 不合格 ${c.fail}` : '');
    bar.value = done;
  }

  function card(item) {
    const a = session.draft.answers[item.code] || { result: null, note: '', photo_ids: [] };
    const problem = itemProblem(item, a);
    const redraw = () => {
      const next = card(item);
      cards.get(item.code).replaceWith(next);
      cards.set(item.code, next);
      updateProgress();
    };
    const choose = (r) => {
      session.change((d) => setResult(d, item.code, r));
      redraw();
    };
    const addFiles = async (files) => {
      for (const f of files) {
        try {
          const rec = await session.addPhoto(
            f,
            (d, pid) => addPhoto(d, item.code, pid),
            (d, pid) => removePhoto(d, item.code, pid),
          );
          photoCache.set(rec.id, rec);
        } catch (e) {
          console.error(e);
          if (!e.notStored) toast('这张照片无法读取，请重拍', { error: true });
        }
      }
      redraw();
    };
    const photos = a.photo_ids.map((pid) => photoCache.get(pid)).filter(Boolean);
    const open = a.result === 'fail' || Boolean(a.note) || photos.length > 0;
    const note = h('textarea', { rows: '2', maxlength: String(LIMITS.answerNote), placeholder: '备注（可选）', 'aria-label': `备注：${item.prompt}`, value: a.note });
    note.addEventListener('input', () => session.change((d) => setNote(d, item.code, note.value)));

    const el = h(
      'article',
      { class: `item card result-${a.result || 'none'}${item.major ? ' major' : ''}`, id: `item-${item.code}`, 'data-testid': 'item', 'data-code': item.code },
      item.major && !item.stop_use ? h('p', { class: 'major-flag' }, '⚠ 疑似重大隐患：如不合格，须当场报告并采取临时措施') : null,
      h('p', { class: 'prompt' }, item.prompt),
      a.result === 'fail' ? actionNote(item) : null,
      item.photo_required ? h('p', { class: 'muted small' }, '不合格时须拍照') : null,
      h(
        'div',
        { class: 'answers', role: 'group', 'aria-label': '检查结果' },
        ['pass', 'fail', 'na'].map((r) =>
          h('button', { type: 'button', class: `answer ${r}`, 'aria-pressed': String(a.result === r), 'data-result': r, onclick: () => choose(r) }, RESULT_LABELS[r]),
        ),
      ),
      problem === 'photo' ? h('p', { class: 'field-error' }, '不合格项须至少拍一张照片') : null,
      problem === 'limit' ? h('p', { class: 'field-error' }, `备注最多 ${LIMITS.answerNote} 字，照片最多 ${LIMITS.photos} 张`) : null,
      open
        ? [note, photoButtons(addFiles, { testid: 'photo-' }), photoStrip(photos, del)]
        : h('details', { class: 'more' }, h('summary', {}, '备注 / 照片'), note, photoButtons(addFiles, { testid: 'photo-' })),
    );
    async function del(pid) {
      if (!(await confirmDialog('删除照片', '确定删除这张照片吗？', '删除', true))) return;
      await session.removePhoto(pid, (d, p) => removePhoto(d, item.code, p));
      photoCache.delete(pid);
      redraw();
    }
    return el;
  }

  const groups = groupByCategory(template.items).map((g) =>
    h('section', { class: 'group' }, h('h2', {}, g.label), g.items.map((item) => {
      const c = card(item);
      cards.set(item.code, c);
      return c;
    })),
  );
  updateProgress();

  add(root, 
    h('p', {}, h('a', { href: `#/venue/${draft.venue_id}`, class: 'back' }, `‹ ${draft.venue_name}`)),
    h('h1', {}, template.title),
    h('p', { class: 'muted small' }, '每一项都会立即保存在手机上，可以随时离开后继续。'),
    groups,
    h(
      'div',
      { class: 'sticky-bar' },
      h('div', { class: 'sticky-progress' }, progress, bar),
      h('a', { class: 'btn primary', href: `#/summary/${draft.id}`, 'data-testid': 'to-summary' }, '检查小结 ›'),
    ),
  );
  const focus = new URLSearchParams(location.search).get('item') || sessionStorage.getItem('safegrid-focus');
  if (focus) {
    sessionStorage.removeItem('safegrid-focus');
    setTimeout(() => document.getElementById(`item-${focus}`)?.scrollIntoView({ block: 'center' }), 50);
  }
}

export async function summaryView(app, root, id) {
  const { draft, template: full, shown: template, lost } = await load(id);
  if (!draft || draft.status !== 'draft') {
    sentAlready(app, draft);
    return;
  }
  if (!template) {
    add(root, h('h1', {}, '检查小结'), emptyState('手机上没有这份检查的检查表，联网后再试。'), h('a', { class: 'btn secondary', href: '#/today' }, '返回'));
    return;
  }
  tellLost(lost);
  const session = new DraftSession(draft);
  let active = true;
  app.onLeave(() => {
    active = false;
    return session.flush();
  });
  const v = validate(template, draft);
  const byCode = new Map(template.items.map((i) => [i.code, i]));
  const jump = (code) => {
    sessionStorage.setItem('safegrid-focus', code);
    app.go(`#/inspect/${draft.id}`);
  };
  const itemLink = (code, extra, label = byCode.get(code).prompt) =>
    h('li', {}, h('button', { type: 'button', class: 'linkish', onclick: () => jump(code) }, label, extra));

  const note = h('textarea', { rows: '3', maxlength: String(LIMITS.note), placeholder: '整体说明（可选）', 'aria-label': '整体说明', value: draft.note || '' });
  note.addEventListener('input', () => session.change((d) => ({ ...d, note: note.value })));
  const photoCount = allPhotoIds(draft).length;
  const stops = v.failures.filter((c) => byCode.get(c).stop_use);

  // Where the inspection was done: taken in the background when the checklist opened; when that failed
  // (no permission, no fix indoors) the inspector can try again here before submitting.
  const gpsLine = h('div', { class: 'gps-line', 'data-testid': 'gps-line', role: 'status' });
  const drawGps = (problem = '', busy = false) => {
    const d = session.draft;
    const text = d.lat != null ? `已记录（约 ${d.accuracy_m} 米）` : busy ? '正在定位…' : `未取得${problem ? `：${problem}` : ''}`;
    clear(gpsLine);
    add(
      gpsLine,
      h('p', { class: 'muted small' }, `照片 ${photoCount} 张 · 位置：${text}`),
      d.lat == null && !busy
        ? h('button', { type: 'button', class: 'btn secondary small', 'data-testid': 'gps-retry', onclick: retryGps }, '重新定位')
        : null,
    );
  };
  const retryGps = () => {
    if (!('geolocation' in navigator)) {
      drawGps('此设备不支持定位');
      return;
    }
    drawGps('', true);
    navigator.geolocation.getCurrentPosition(
      (p) => {
        const fix = { lat: p.coords.latitude, lng: p.coords.longitude, accuracy_m: Math.round(p.coords.accuracy) };
        if (active) session.change((d) => ({ ...d, ...fix })).then(() => drawGps());
      },
      (e) => active && drawGps(e.code === 1 ? '没有定位权限，请在浏览器设置里允许本站定位' : '暂时无法定位，请到开阔处再试'),
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 },
    );
  };
  drawGps();
  captureGps(session, () => active, () => drawGps());

  const submit = h(
    'button',
    {
      type: 'button',
      class: 'btn primary block big',
      disabled: !v.ok,
      'data-testid': 'submit-inspection',
      onclick: async () => {
        submit.disabled = true;
        await session.flush();
        const d = session.draft;
        const check = validate(template, d);
        if (!check.ok) {
          submit.disabled = false;
          return;
        }
        const venue = await data.venue(d.venue_id);
        const body = buildInspectionBody(full, d, new Date().toISOString());
        const item = sync.newItem({
          kind: 'inspection',
          title: `${d.venue_name} · ${template.title}`,
          path: `/inspections/${d.id}`,
          body,
          photo_ids: allPhotoIds(d),
          depends_on: venue && venue._local && venue._outbox_id ? [venue._outbox_id] : [],
          ref: { draft_id: d.id, fail: check.counts.fail },
        });
        await db.run(['drafts', 'outbox'], 'readwrite', (s) => {
          s.outbox.put(item);
          s.drafts.put({ ...d, status: 'queued', outbox_id: item.id, submitted_at: body.submitted_at });
        });
        sync.emit({ type: 'changed' });
        app.requestBackgroundSync();
        app.drainSoon();
        toast(navigator.onLine ? '已提交，正在上传' : '已保存在手机上，联网后自动上传');
        app.go('#/sync', { replace: true });
      },
    },
    '提交检查',
  );

  add(root, 
    h('p', {}, h('a', { href: `#/inspect/${draft.id}`, class: 'back' }, '‹ 返回检查')),
    h('h1', {}, '检查小结'),
    h('p', { class: 'muted' }, `${draft.venue_name} · ${template.title}`),
    h(
      'ul',
      { class: 'counts', 'data-testid': 'counts' },
      h('li', { class: 'c-pass' }, h('strong', {}, String(v.counts.pass)), '合格'),
      h('li', { class: 'c-fail' }, h('strong', {}, String(v.counts.fail)), '不合格'),
      h('li', { class: 'c-na' }, h('strong', {}, String(v.counts.na)), '不适用'),
      h('li', { class: 'c-none' }, h('strong', {}, String(v.counts.unanswered)), '未答'),
    ),
    stops.length
      ? h('div', { class: 'major-flag stop', role: 'alert', 'data-testid': 'stop-use-summary' },
          h('strong', {}, `⚠ 停止使用、人员撤离（${stops.length} 项房屋安全险情）`),
          h('p', {}, '立即停止使用该房屋，撤离房内及周边人员，设置警戒，并马上报告镇应急办。'),
        )
      : null,
    v.failures.length
      ? [
          h('h2', {}, `不合格项（${v.failures.length}）`),
          h('ul', { class: 'issues' }, v.failures.map((c) => {
            const item = byCode.get(c);
            const act = failAction(item);
            return itemLink(c, [
              item.major && act.kind !== 'stop' ? h('span', { class: 'tag danger' }, '疑似重大') : null,
              act.kind === 'stop' ? h('span', { class: 'tag danger' }, '停止使用') : null,
              act.kind === 'now' ? h('span', { class: 'tag warn' }, '立即整改') : null,
            ], item.hazard || item.prompt);
          })),
        ]
      : null,
    v.missingPhotos.length
      ? [h('h2', { class: 'error' }, `缺少照片（${v.missingPhotos.length}）`), h('ul', { class: 'issues' }, v.missingPhotos.map((c) => itemLink(c, h('span', { class: 'tag danger' }, '须拍照'))))]
      : null,
    v.unanswered.length ? [h('h2', { class: 'error' }, `未答项（${v.unanswered.length}）`), h('ul', { class: 'issues' }, v.unanswered.slice(0, 10).map((c) => itemLink(c)))] : null,
    v.overLimit.length
      ? [h('h2', { class: 'error' }, `备注太长或照片太多（${v.overLimit.length}）`), h('ul', { class: 'issues' }, v.overLimit.map((c) => itemLink(c)))]
      : null,
    v.noteTooLong ? h('p', { class: 'form-error' }, `整体说明最多 ${LIMITS.note} 字`) : null,
    v.majorFailures.length > stops.length
      ? h('p', { class: 'major-flag' }, `⚠ 有 ${v.majorFailures.length - stops.length} 项疑似重大隐患，提交后请立即报告镇应急办。`)
      : null,
    gpsLine,
    h('label', { class: 'field' }, h('span', { class: 'field-label' }, '整体说明'), note),
    v.ok ? null : h('p', { class: 'form-error' }, '还有未答项、缺少照片或超出上限的内容，改好后才能提交。'),
    submit,
    h(
      'button',
      {
        type: 'button',
        class: 'btn danger-outline block',
        onclick: async () => {
          if (!(await confirmDialog('放弃这份检查', '已答的内容和照片都会从手机上删除。', '放弃并删除', true))) return;
          await session.flush();
          await discardDraft(session.draft, allPhotoIds(session.draft));
          app.go(`#/venue/${draft.venue_id}`);
        },
      },
      '放弃这份检查',
    ),
  );
}
