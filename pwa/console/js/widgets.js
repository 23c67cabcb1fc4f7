// The console's DOM pieces: toast, form dialogs, photo thumbnails and the lightbox, finding tags.

import { add, h, clear, toast } from '/js/ui.js';
import { deadlineInfo } from '/js/format.js';
import { photoUrl } from './api.js';
import { errorText, escalationWords, FINDING_STATUS, MAJOR_STATUS } from './labels.js';

// Object URLs of photos shown on the current screen; released when the screen changes.
const urls = new Set();
export function releaseAll() {
  for (const u of urls) URL.revokeObjectURL(u);
  urls.clear();
}

let fieldSeq = 0;
/** A labelled form field; `input` gets an id the label points at. */
export function field(label, input, { hint, required } = {}) {
  const id = input.id || `f${++fieldSeq}`;
  input.id = id;
  if (required) input.required = true;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label, required ? h('span', { class: 'req' }, '（必填）') : null), input, hintEl);
}

export function select(name, options, value) {
  return h(
    'select',
    { name },
    options.map(([v, label]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, label)),
  );
}

/**
 * A modal form. `build(form)` returns the fields; `submit(values)` runs the call and resolves to a
 * result {ok, ...} (the dialog closes and resolves to it) or to a failed call (its refusal is shown in
 * Chinese and the dialog stays open, so the supervisor can correct and send again — with the same
 * client id, made once when the dialog opened, so a retry is never applied twice).
 */
export function formDialog({ title, build, submitLabel = '确定', danger = false, testid }) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title', 'data-testid': testid || null });
    const error = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'dialog-error' });
    const form = h('form', { method: 'dialog', novalidate: true });
    const ok = h('button', { type: 'submit', class: danger ? 'btn danger' : 'btn primary', 'data-testid': 'dialog-submit' }, submitLabel);
    const cancel = h('button', { type: 'button', class: 'btn secondary', onclick: () => close(null) }, '取消');
    const spec = build(form);
    let busy = false;
    const close = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    add(form, h('h2', { id: 'dlg-title' }, title), spec.fields, error, h('div', { class: 'dialog-buttons' }, cancel, ok));
    form.addEventListener('input', () => {
      if (!busy) error.textContent = ''; // a message about what was just corrected would mislead
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (busy) return;
      error.textContent = '';
      const problem = spec.validate ? spec.validate() : null;
      if (problem) {
        error.textContent = problem;
        return;
      }
      busy = true;
      ok.disabled = true;
      const r = await spec.submit();
      busy = false;
      ok.disabled = false;
      if (r && r.ok) close(r);
      else error.textContent = errorText(r);
    });
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      close(null);
    });
    dlg.append(form);
    document.body.append(dlg);
    dlg.showModal();
    const first = form.querySelector('input, select, textarea');
    if (first) first.focus();
  });
}

/** A row of thumbnails; each opens the lightbox on the whole set. */
export function thumbs(ids, label) {
  const list = (ids || []).map(String);
  if (!list.length) return h('p', { class: 'muted small' }, '没有照片');
  const ul = h('ul', { class: 'thumbs', 'aria-label': label });
  list.forEach((id, i) => {
    const btn = h('button', { type: 'button', class: 'thumb', 'aria-label': `${label} 第 ${i + 1} 张，点击放大`, 'data-testid': 'thumb' }, h('span', { class: 'ph' }, '…'));
    btn.addEventListener('click', () => lightbox(list, i, label));
    ul.append(h('li', {}, btn));
    photoUrl(id, true).then((u) => {
      if (!u) {
        btn.replaceChildren(h('span', { class: 'ph' }, '无法加载'));
        return;
      }
      urls.add(u);
      btn.replaceChildren(h('img', { src: u, alt: '', width: '96', height: '96' }));
    });
  });
  return ul;
}

/** A large view of one photo of a set, with zoom (buttons, + and -, the wheel) and previous/next. */
export function lightbox(ids, start, label) {
  let index = start;
  let zoom = 1;
  const img = h('img', { alt: '', 'data-testid': 'lightbox-image' });
  const stage = h('div', { class: 'lb-stage', tabindex: '0', 'aria-label': '照片（可滚动查看放大的部分）' }, img);
  const caption = h('p', { class: 'lb-caption', 'aria-live': 'polite' });
  const zoomText = h('span', { class: 'lb-zoom' });
  const apply = () => {
    img.style.width = `${zoom * 100}%`;
    zoomText.textContent = `${Math.round(zoom * 100)}%`;
  };
  const setZoom = (z) => {
    zoom = Math.min(6, Math.max(1, z));
    apply();
  };
  const show = async () => {
    caption.textContent = `${label}：第 ${index + 1} 张，共 ${ids.length} 张`;
    img.alt = `${label} 第 ${index + 1} 张`;
    setZoom(1);
    const u = await photoUrl(ids[index], false);
    if (u) {
      urls.add(u);
      img.src = u;
    }
  };
  const dlg = h('dialog', { class: 'lightbox', 'aria-label': `${label}（大图）`, 'data-testid': 'lightbox' });
  const btn = (text, fn, testid) => h('button', { type: 'button', class: 'btn small', onclick: fn, 'data-testid': testid || null }, text);
  const step = (d) => {
    index = (index + ids.length + d) % ids.length;
    show();
  };
  const tools = h(
    'div',
    { class: 'lb-tools' },
    btn('－ 缩小', () => setZoom(zoom / 1.5), 'zoom-out'),
    zoomText,
    btn('＋ 放大', () => setZoom(zoom * 1.5), 'zoom-in'),
    btn('原始大小', () => setZoom(1)),
    ids.length > 1 ? btn('‹ 上一张', () => step(-1)) : null,
    ids.length > 1 ? btn('下一张 ›', () => step(1)) : null,
    btn('关闭', () => dlg.close(), 'lightbox-close'),
  );
  dlg.append(tools, stage, caption);
  dlg.addEventListener('close', () => dlg.remove());
  dlg.addEventListener('keydown', (e) => {
    if (e.key === '+' || e.key === '=') setZoom(zoom * 1.5);
    else if (e.key === '-') setZoom(zoom / 1.5);
    else if (e.key === 'ArrowRight' && ids.length > 1) step(1);
    else if (e.key === 'ArrowLeft' && ids.length > 1) step(-1);
  });
  stage.addEventListener('wheel', (e) => {
    if (!e.ctrlKey && !e.metaKey) return;
    e.preventDefault();
    setZoom(e.deltaY < 0 ? zoom * 1.2 : zoom / 1.2);
  }, { passive: false });
  document.body.append(dlg);
  dlg.showModal();
  show();
}

/** The deadline, overdue and escalation of a finding in words, as tags. */
export function deadlineTags(f) {
  const tags = [];
  if (f.status === 'closed' || f.status === 'void') return [];
  const dl = deadlineInfo(f.deadline);
  if (f.overdue) tags.push(h('span', { class: 'tag danger' }, dl.overdue ? dl.label : '已超期'));
  else if (dl.daysLeft !== null && dl.daysLeft <= 3) tags.push(h('span', { class: 'tag warn' }, dl.label));
  else if (dl.label) tags.push(h('span', { class: 'tag' }, dl.label));
  if (f.escalation_level > 0) tags.push(h('span', { class: 'tag danger' }, escalationWords(f.escalation_level)));
  if (f.verification_overdue) tags.push(h('span', { class: 'tag danger' }, `复查超期${f.verification_due ? `（应于 ${f.verification_due} 前）` : ''}`));
  else if (f.status === 'submitted' && f.verification_due) tags.push(h('span', { class: 'tag info' }, `应于 ${f.verification_due} 前复查`));
  return tags;
}

export function statusTag(f) {
  return h('span', { class: `tag status-${f.status}`, 'data-testid': 'finding-status' }, FINDING_STATUS[f.status] || f.status);
}

export function majorTag(f) {
  if (f.major_status === 'suspected') return h('span', { class: 'tag danger' }, '疑似重大');
  if (f.major_status === 'confirmed') return h('span', { class: 'tag danger strong' }, '重大事故隐患');
  if (f.major_status === 'downgraded') return h('span', { class: 'tag' }, MAJOR_STATUS.downgraded);
  if (!f.major_status && f.severity === 'major') return h('span', { class: 'tag danger' }, '疑似重大'); // undecided
  return null;
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

export function loadError(r) {
  return h('p', { class: 'error', role: 'alert' }, `加载失败：${errorText(r)}`);
}

export { add, h, clear, toast };
