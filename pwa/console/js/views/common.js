// Pieces shared by the console's list views.

import { download } from '../api.js';
import { errorText } from '../labels.js';
import { h, toast } from '../widgets.js';

/** The area tree as <option>s: the town, its villages, their grids, indented by depth. */
export function areaOptions(ctx, { all = '全部区域' } = {}) {
  const byParent = new Map();
  const codes = new Set(ctx.areas.map((a) => a.code));
  for (const a of ctx.areas) {
    const p = a.parent_code && codes.has(a.parent_code) ? a.parent_code : '';
    if (!byParent.has(p)) byParent.set(p, []);
    byParent.get(p).push(a);
  }
  const out = all === null ? [] : [['', all]];
  const walk = (parent, depth) => {
    for (const a of byParent.get(parent) || []) {
      out.push([a.code, `${'　'.repeat(depth)}${a.name}`]);
      walk(a.code, depth + 1);
    }
  };
  walk('', 0);
  return out;
}

/** A "加载更多" list: `load(cursor)` → {ok, data: {items, next_cursor}}; `row(item)` → <li>. */
export function pagedList({ load, row, listClass = 'rows', emptyText, testid }) {
  const list = h('ol', { class: listClass, 'data-testid': testid });
  const status = h('p', { class: 'muted small', role: 'status', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'btn secondary', hidden: true, 'data-testid': 'load-more' }, '加载更多');
  let cursor = null;
  let shown = 0;
  const next = async () => {
    more.disabled = true;
    const r = await load(cursor);
    more.disabled = false;
    if (!r.ok) {
      status.textContent = '加载失败，请重试。';
      more.hidden = false;
      return r;
    }
    for (const item of r.data.items) list.append(row(item));
    shown += r.data.items.length;
    cursor = r.data.next_cursor;
    more.hidden = !cursor;
    status.textContent = shown ? `已显示 ${shown} 条${cursor ? '，还有更多' : '，已全部显示'}` : emptyText;
    return r;
  };
  more.addEventListener('click', next);
  return { node: h('div', { class: 'paged' }, list, status, more), first: next };
}

/** Rows per page: 50, or `limit` from the address (1..200) for a shorter or longer page. */
export function pageSize(query) {
  const n = Number(query.get('limit'));
  return Number.isInteger(n) && n >= 1 && n <= 200 ? n : 50;
}

/** A button that downloads a file the server makes (Excel, PDF) with the token, which a plain link cannot
 * send, and says in a toast what it saved or why not. */
export function downloadButton(label, path, name, testid) {
  const b = h('button', { type: 'button', class: 'btn secondary', 'data-testid': testid }, label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    const r = await download(path, name);
    b.disabled = false;
    toast(r.ok ? `已下载 ${r.filename}` : errorText(r), { error: !r.ok });
  });
  return b;
}
