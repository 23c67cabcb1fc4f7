// Small DOM helpers: element builder, toasts, dialogs, photo previews.

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'multiple' || k === 'selected') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Append children (nodes, strings, arrays; null/false skipped) to el. */
export function add(el, ...children) {
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let toastTimer = null;
export function toast(text, { error = false, ms = 3500 } = {}) {
  const el = document.getElementById('toast');
  el.textContent = text;
  el.className = error ? 'toast show error' : 'toast show';
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.className = 'toast';
  }, ms);
}

/** A modal dialog; resolves to the value of the button pressed (or null when dismissed). */
export function dialog({ title, body, buttons }) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' });
    const close = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    dlg.append(
      h('h2', { id: 'dlg-title' }, title),
      h('div', { class: 'dialog-body' }, body),
      h(
        'div',
        { class: 'dialog-buttons' },
        buttons.map((b) => h('button', { type: 'button', class: b.class || 'btn', onclick: () => close(b.value) }, b.label)),
      ),
    );
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      close(null);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

export const confirmDialog = (title, body, okLabel = '确定', danger = false) =>
  dialog({
    title,
    body,
    buttons: [
      { label: '取消', value: false, class: 'btn secondary' },
      { label: okLabel, value: true, class: danger ? 'btn danger' : 'btn primary' },
    ],
  });

/** Object URLs made for previews are released when the view changes. */
const urls = new Set();
export function blobUrl(blob) {
  const u = URL.createObjectURL(blob);
  urls.add(u);
  return u;
}
export function releaseUrls() {
  for (const u of urls) URL.revokeObjectURL(u);
  urls.clear();
}

/** Camera and gallery buttons; onFiles receives an array of File. */
export function photoButtons(onFiles, { label = '拍照', testid = '' } = {}) {
  const pick = (capture) => {
    const input = h('input', { type: 'file', accept: 'image/*', class: 'visually-hidden', tabindex: '-1' });
    if (capture) input.setAttribute('capture', 'environment');
    else input.multiple = true;
    input.addEventListener('change', () => {
      const files = [...(input.files || [])];
      input.remove();
      if (files.length) onFiles(files);
    });
    document.body.append(input);
    input.click();
  };
  return h(
    'div',
    { class: 'photo-buttons' },
    h('button', { type: 'button', class: 'btn secondary small', 'data-testid': `${testid}camera`, onclick: () => pick(true) }, label),
    h('button', { type: 'button', class: 'btn secondary small', 'data-testid': `${testid}gallery`, onclick: () => pick(false) }, '相册'),
  );
}

/** A row of previews with a delete button each. photos: [{id, blob}] */
export function photoStrip(photos, onDelete) {
  return h(
    'ul',
    { class: 'photo-strip', 'aria-label': '照片' },
    photos.map((p, i) =>
      h(
        'li',
        {},
        h('img', { src: blobUrl(p.blob), alt: `照片 ${i + 1}`, width: '72', height: '72', loading: 'lazy' }),
        onDelete
          ? h('button', { type: 'button', class: 'photo-del', 'aria-label': `删除照片 ${i + 1}`, onclick: () => onDelete(p.id) }, '×')
          : null,
      ),
    ),
  );
}

export function field(label, input, error) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input, error ? h('span', { class: 'field-error' }, error) : null);
}

export function emptyState(text) {
  return h('p', { class: 'empty' }, text);
}
