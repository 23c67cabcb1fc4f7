import * as db from '../db.js';
import { dateTime } from '../format.js';
import { formatBytes } from '../imagemath.js';
import { STATES, blockedBy, progressFraction, retryCanHelp, summarize } from '../outbox.js';
import * as sync from '../sync.js';
import { add, confirmDialog, emptyState, h, toast } from '../ui.js';

const STATE_LABELS = {
  [STATES.PENDING]: '已存手机，等待上传',
  [STATES.UPLOADING]: '正在上传',
  [STATES.RETRY]: '上传失败，稍后自动重试',
  [STATES.ATTENTION]: '需要处理',
  [STATES.AUTH]: '需要重新登录',
  [STATES.DONE]: '已同步',
};

export async function syncView(app, root) {
  const list = h('ol', { class: 'list outbox', 'data-testid': 'outbox' });
  const head = h('p', { class: 'muted', 'aria-live': 'polite' });
  const drafts = h('div');
  const bars = new Map();

  async function draw() {
    const [items, photos, ds] = await Promise.all([sync.items(), db.getAll('photos'), db.getAll('drafts')]);
    const sizes = Object.fromEntries(photos.map((p) => [p.id, p.size || 0]));
    const s = summarize(items);
    // `waiting` counts every item not yet on the server, those needing the inspector included: said apart.
    const queued = s.waiting - s.attention;
    head.textContent = s.waiting
      ? [queued ? `${queued} 项等待上传` : '', s.attention ? `${s.attention} 项需要处理` : ''].filter(Boolean).join('，') + (navigator.onLine ? '' : '（当前离线）')
      : '全部已上传到服务器。';
    bars.clear();
    const open = items.filter((i) => i.state !== STATES.DONE);
    const done = items.filter((i) => i.state === STATES.DONE).reverse().slice(0, 10);
    list.replaceChildren(...[...open, ...done].map((i) => row(i, items, sizes)));
    if (!items.length) list.append(h('li', {}, emptyState('没有需要上传的内容。')));
    const unfinished = ds.filter((d) => d.status === 'draft');
    drafts.replaceChildren(
      ...(unfinished.length
        ? [
            h('h2', {}, `未提交（${unfinished.length}）`),
            h(
              'ul',
              { class: 'list' },
              unfinished.map((d) =>
                h(
                  'li',
                  {},
                  h(
                    'a',
                    { class: 'row', href: d.kind ? `#/${d.kind === 'rectification' ? 'rectify' : 'verify'}/${d.finding_id}` : `#/inspect/${d.id}` },
                    h('span', { class: 'row-main' }, h('strong', {}, d.venue_name || d.title || '草稿'), h('span', { class: 'muted small' }, `${d.checklist_title || (d.kind === 'rectification' ? '整改' : '复查')} · ${dateTime(d.updated_at)}`)),
                  ),
                ),
              ),
            ),
          ]
        : []),
    );
  }

  function row(i, items, sizes) {
    const photoBytes = (i.photo_ids || []).reduce((n, id) => n + (sizes[id] || 0), 0);
    const blockers = blockedBy(i, items);
    const bar = h('progress', { max: '1', value: String(progressFraction(i, sizes)), 'aria-label': '上传进度' });
    bars.set(i.id, bar);
    const actions = [];
    if (i.state === STATES.ATTENTION) {
      if (retryCanHelp(i)) actions.push(h('button', { type: 'button', class: 'btn secondary small', 'data-testid': 'retry', onclick: () => sync.retryItem(i.id).then(() => app.drainSoon()) }, '重试'));
      if (i.kind === 'inspection' && i.ref && i.ref.draft_id) {
        actions.push(h('button', { type: 'button', class: 'btn secondary small', onclick: () => reopen(i) }, '退回修改'));
      }
      actions.push(h('button', { type: 'button', class: 'btn danger-outline small', onclick: () => discard(i) }, '放弃'));
    }
    if (i.state === STATES.AUTH) actions.push(h('button', { type: 'button', class: 'btn primary small', onclick: () => app.showLogin({ relogin: true }) }, '重新登录'));
    return h(
      'li',
      { class: `outbox-item state-${i.state}`, 'data-testid': 'outbox-item', 'data-state': i.state, 'data-kind': i.kind },
      h('div', { class: 'row-main' },
        h('strong', {}, i.title),
        h('span', { class: 'muted small' }, `${dateTime(i.created_at)}${i.photo_ids && i.photo_ids.length ? ` · 照片 ${i.photo_ids.length} 张${photoBytes ? `（${formatBytes(photoBytes)}）` : ''}` : ''}`),
        h('span', { class: `state-label s-${i.state}` }, STATE_LABELS[i.state] || i.state),
        i.state === STATES.UPLOADING ? bar : null,
        i.state === STATES.RETRY && i.next_at ? h('span', { class: 'muted small' }, `下次重试：${dateTime(new Date(i.next_at).toISOString()).slice(11)}`) : null,
        blockers.length ? h('span', { class: 'muted small' }, `等待：${blockers.map((b) => b.title).join('、')}`) : null,
        i.error && i.state !== STATES.DONE ? h('span', { class: 'reason', 'data-testid': 'reason' }, `原因：${i.error.detail}`) : null,
      ),
      actions.length ? h('div', { class: 'item-actions' }, actions) : null,
    );
  }

  async function reopen(i) {
    const ok = await confirmDialog('退回修改', '这份检查会变回草稿，修改后重新提交。', '退回修改');
    if (!ok) return;
    const d = await db.get('drafts', i.ref.draft_id);
    await sync.discard(i.id, { keepPhotos: true });
    if (d) {
      // A new id: the refused request created nothing on the server, and a changed body must not reuse an id.
      const fresh = { ...d, id: crypto.randomUUID(), status: 'draft', outbox_id: null };
      await db.run('drafts', 'readwrite', (s) => {
        s.drafts.delete(d.id);
        s.drafts.put(fresh);
      });
      app.go(`#/summary/${fresh.id}`);
    }
  }

  async function discard(i) {
    const ok = await confirmDialog('放弃这一项', `“${i.title}”会从手机上删除，不会上传。`, '放弃并删除', true);
    if (!ok) return;
    await sync.discard(i.id);
    if (i.kind === 'inspection' && i.ref && i.ref.draft_id) await db.del('drafts', i.ref.draft_id);
    toast('已放弃');
  }

  const syncNow = h(
    'button',
    {
      type: 'button',
      class: 'btn primary block',
      'data-testid': 'sync-now',
      onclick: async () => {
        if (!navigator.onLine) {
          toast('当前没有网络，联网后会自动上传', { error: true });
          return;
        }
        syncNow.disabled = true;
        await sync.wakeAll();
        await app.drainSoon();
        await app.refreshData();
        syncNow.disabled = false;
      },
    },
    '立即同步',
  );

  const off = sync.onChange((msg) => {
    if (msg.type === 'progress') {
      const bar = bars.get(msg.id);
      if (bar) bar.value = msg.fraction;
    } else draw();
  });
  app.onLeave(off);
  await draw();
  add(root, h('h1', {}, '同步'), head, syncNow, list, drafts);
}

export async function meView(app, root) {
  const me = app.me || {};
  const areas = Object.fromEntries(((await db.getMeta('areas')) || []).map((a) => [a.code, a.name]));
  const refreshed = await db.getMeta('refreshed_at');
  const storage = h('dd', {}, '—');
  const persisted = h('dd', { 'data-testid': 'persisted' }, '—');
  const persistHelp = h('div', { 'data-testid': 'persist-help' });
  const showPersisted = (p) => {
    persisted.textContent = p ? '是（不会被系统自动清理）' : '否';
    persistHelp.replaceChildren(
      ...(p
        ? []
        : [
            h(
              'div',
              { class: 'notice' },
              h('p', {}, h('strong', {}, '“持久保存：否”是什么意思？'), ' 手机存储空间不足时，浏览器可能自动清除本应用保存在手机上的数据，包括还没有上传的检查和照片。'),
              h('p', {}, '怎么解决：在浏览器菜单里选“添加到主屏幕”（或“安装应用”），以后从桌面图标打开；然后回到这里点下面的按钮。仍为“否”时，请在浏览器的网站设置里允许本站存储数据，并尽量联网及时上传。'),
            ),
            h('button', { type: 'button', class: 'btn secondary block', 'data-testid': 'ask-persist', onclick: askPersist }, '申请持久保存'),
          ]),
    );
  };
  const askPersist = async () => {
    let p = false;
    try {
      p = Boolean(await navigator.storage.persist());
    } catch {
      p = false;
    }
    showPersisted(p);
    if (!p) toast('浏览器暂未同意。请先“添加到主屏幕”，从桌面图标打开后再试。', { ms: 6000 });
  };
  if (navigator.storage && navigator.storage.estimate) {
    navigator.storage.estimate().then((e) => (storage.textContent = `已用 ${formatBytes(e.usage)}`)).catch(() => {});
    navigator.storage.persisted?.().then(showPersisted).catch(() => {});
  }
  const roles = { inspector: '网格员', supervisor: '镇应急办', admin: '管理员' };
  const s = summarize(await db.getAll('outbox'));
  add(root, 
    h('h1', {}, '我的'),
    h(
      'dl',
      { class: 'facts card' },
      h('dt', {}, '姓名'), h('dd', {}, me.display_name || me.username || '—'),
      h('dt', {}, '账号'), h('dd', {}, me.username || '—'),
      h('dt', {}, '角色'), h('dd', {}, roles[me.role] || me.role || '—'),
      h('dt', {}, '区域'), h('dd', {}, (me.area_codes || []).map((c) => areas[c] || c).join('、') || '—'),
      h('dt', {}, '数据更新'), h('dd', {}, refreshed ? dateTime(new Date(refreshed).toISOString()) : '—'),
      h('dt', {}, '手机存储'), storage,
      h('dt', {}, '持久保存'), persisted,
      h('dt', {}, '版本'), h('dd', {}, app.version),
    ),
    persistHelp,
    s.waiting ? h('p', { class: 'notice' }, `还有 ${s.waiting} 项没有上传。`) : null,
    app.waitingWorker ? h('button', { type: 'button', class: 'btn secondary block', onclick: () => app.applyUpdate() }, '更新到新版本') : null,
    h('button', { type: 'button', class: 'btn danger-outline block', 'data-testid': 'sign-out', onclick: () => app.signOut() }, '退出登录'),
  );
}
