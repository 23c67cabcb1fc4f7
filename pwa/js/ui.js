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

/** A row of previews with a delete button each; a tap opens the photo large. photos: [{id, blob, thumb}]
 * (a preview from the thumbnail where there is one: a cheap phone need not decode every full photo to
 * show it at 72 px) */
export function photoStrip(photos, onDelete) {
  const urlsOf = photos.map((p) => blobUrl(p.blob));
  const previews = photos.map((p, i) => (p.thumb ? blobUrl(p.thumb) : urlsOf[i]));
  const open = (i) => lightbox(urlsOf.map((src, k) => ({ label: `照片 ${k + 1}`, src })), i);
  return h(
    'ul',
    { class: 'photo-strip', 'aria-label': '照片' },
    photos.map((p, i) =>
      h(
        'li',
        {},
        h(
          'button',
          { type: 'button', class: 'photo-open', 'aria-label': `查看照片 ${i + 1}`, onclick: () => open(i) },
          h('img', { src: previews[i], alt: `照片 ${i + 1}`, width: '72', height: '72', loading: 'lazy' }),
        ),
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

/**
 * A photo viewer over the whole screen: pinch (or the mouse wheel) to zoom, drag to move a zoomed photo,
 * double-tap to zoom in or out, arrows for the next one. items: [{label, src}] where src is a URL or a
 * function resolving to one (a full-size photo fetched only when shown).
 */
export function lightbox(items, start = 0) {
  let index = start;
  let scale = 1;
  let tx = 0;
  let ty = 0;
  const made = [];
  const pointers = new Map();
  let pinch = null;
  const img = h('img', { class: 'lb-img', alt: '', draggable: 'false', 'data-testid': 'lightbox-img' });
  const stage = h('div', { class: 'lb-stage' }, img);
  const caption = h('span', { class: 'lb-caption', 'aria-live': 'polite' });
  const apply = () => {
    img.style.transform = `translate(${tx}px, ${ty}px) scale(${scale})`;
    img.dataset.scale = String(Math.round(scale * 100) / 100);
  };
  const zoomTo = (s) => {
    scale = Math.min(5, Math.max(1, s));
    if (scale === 1) tx = ty = 0;
    apply();
  };
  const show = async (i) => {
    index = (i + items.length) % items.length;
    scale = 1;
    tx = ty = 0;
    apply();
    const it = items[index];
    caption.textContent = `${it.label || '照片'}（${index + 1}/${items.length}）`;
    img.alt = it.label || '照片';
    img.removeAttribute('src');
    const src = typeof it.src === 'function' ? await it.src() : it.src;
    if (index !== items.indexOf(it)) return;
    if (src) {
      if (typeof it.src === 'function') made.push(src);
      img.src = src;
    } else caption.textContent = `${it.label || '照片'}：离线，联网后可查看大图`;
  };
  const dlg = h(
    'dialog',
    { class: 'lightbox', 'aria-label': '查看照片', 'data-testid': 'lightbox' },
    stage,
    h(
      'div',
      { class: 'lb-bar' },
      items.length > 1 ? h('button', { type: 'button', class: 'btn small', onclick: () => show(index - 1) }, '‹ 上一张') : null,
      caption,
      items.length > 1 ? h('button', { type: 'button', class: 'btn small', onclick: () => show(index + 1) }, '下一张 ›') : null,
      h('button', { type: 'button', class: 'btn small primary', 'data-testid': 'lightbox-close', onclick: () => close() }, '关闭'),
    ),
  );
  const close = () => {
    dlg.close();
    dlg.remove();
    for (const u of made) URL.revokeObjectURL(u);
  };
  dlg.addEventListener('cancel', (e) => {
    e.preventDefault();
    close();
  });
  stage.addEventListener('pointerdown', (e) => {
    stage.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { d: Math.hypot(a.x - b.x, a.y - b.y) || 1, scale };
    }
  });
  stage.addEventListener('pointermove', (e) => {
    const prev = pointers.get(e.pointerId);
    if (!prev) return;
    const cur = { x: e.clientX, y: e.clientY };
    pointers.set(e.pointerId, cur);
    if (pointers.size === 2 && pinch) {
      const [a, b] = [...pointers.values()];
      zoomTo((pinch.scale * Math.hypot(a.x - b.x, a.y - b.y)) / pinch.d);
    } else if (pointers.size === 1 && scale > 1) {
      tx += cur.x - prev.x;
      ty += cur.y - prev.y;
      apply();
    }
  });
  const up = (e) => {
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = null;
  };
  stage.addEventListener('pointerup', up);
  stage.addEventListener('pointercancel', up);
  stage.addEventListener('dblclick', () => zoomTo(scale > 1 ? 1 : 2.5));
  stage.addEventListener('wheel', (e) => {
    e.preventDefault();
    zoomTo(scale * (e.deltaY < 0 ? 1.2 : 1 / 1.2));
  }, { passive: false });
  document.body.append(dlg);
  dlg.showModal();
  show(index);
  return dlg;
}
