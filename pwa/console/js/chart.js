// Horizontal bar charts drawn as plain SVG (no library): one bar per row, the name and the value
// written as text beside it, with <title> and <desc> for screen readers.

const NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

let chartSeq = 0;

/**
 * rows: [{label, value (number|null)}]; format(value) → text; max: the scale's top (default: the
 * largest value, at least 1). Returns an <svg> element.
 */
export function barChart({ title, description, rows, format = (v) => String(v), max, color = '#0b3d75', testid }) {
  const id = `chart${++chartSeq}`;
  const labelW = 84;
  const barW = 150;
  const valueW = 60;
  const rowH = 28;
  const top = 8;
  const width = labelW + barW + valueW;
  const height = top * 2 + rows.length * rowH;
  const scale = max || Math.max(1, ...rows.map((r) => r.value || 0));
  const svg = el('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width: '100%',
    role: 'img',
    'aria-labelledby': `${id}-t ${id}-d`,
    class: 'chart',
    preserveAspectRatio: 'xMinYMin meet',
  });
  if (testid) svg.setAttribute('data-testid', testid);
  svg.append(el('title', { id: `${id}-t` }, title));
  const summary = rows.map((r) => `${r.label} ${r.value === null || r.value === undefined ? '无数据' : format(r.value)}`).join('；');
  svg.append(el('desc', { id: `${id}-d` }, `${description ? `${description}。` : ''}${summary}`));
  svg.append(el('line', { x1: labelW, y1: top - 4, x2: labelW, y2: height - top + 4, stroke: '#4a5560', 'stroke-width': 1 }));
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const g = el('g', { class: 'bar', 'data-label': r.label });
    g.append(el('text', { x: labelW - 8, y: y + rowH / 2 + 5, 'text-anchor': 'end', 'font-size': 13, fill: '#111' }, r.label));
    const v = r.value;
    const w = v === null || v === undefined ? 0 : Math.max(v > 0 ? 2 : 0, (Math.min(v, scale) / scale) * barW);
    g.append(el('rect', { x: labelW, y: y + 5, width: w.toFixed(1), height: rowH - 10, fill: color, rx: 2 }));
    g.append(el('text', { x: labelW + w + 6, y: y + rowH / 2 + 5, 'font-size': 13, fill: '#111', 'font-weight': 700 }, v === null || v === undefined ? '无数据' : format(v)));
    svg.append(g);
  });
  return svg;
}
