// 安格 SafeGrid inspector app: start-up, routing, sync badge, sign-in state, app updates.

import { call } from './api.js';
import * as data from './data.js';
import * as db from './db.js';
import { nextWakeAt, summarize } from './outbox.js';
import * as sync from './sync.js';
import { clear, confirmDialog, h, releaseUrls, toast } from './ui.js';
import { findingView, findingsView, rectifyView, verifyView } from './views/findings.js';
import { inspectView, summaryView } from './views/inspect.js';
import { loginView } from './views/login.js';
import { meView, syncView } from './views/sync.js';
import { newVenueView, todayView, venueView } from './views/today.js';

export const APP_VERSION = '1.0.0';

const routes = [
  [/^#\/today$/, todayView],
  [/^#\/venue\/([\w-]+)$/, venueView],
  [/^#\/new-venue$/, newVenueView],
  [/^#\/inspect\/([\w-]+)$/, inspectView],
  [/^#\/summary\/([\w-]+)$/, summaryView],
  [/^#\/findings(?:\/(open|submitted))?$/, findingsView],
  [/^#\/finding\/([\w-]+)$/, findingView],
  [/^#\/rectify\/([\w-]+)$/, rectifyView],
  [/^#\/verify\/([\w-]+)$/, verifyView],
  [/^#\/sync$/, syncView],
  [/^#\/me$/, meView],
];

// Screens where an app update must never interrupt the inspector.
const BUSY = /^#\/(inspect|summary|rectify|verify|new-venue)\b/;

const app = {
  version: APP_VERSION,
  me: null,
  main: null,
  leaveHandlers: [],
  waitingWorker: null,
  /** To `hash`; with replace, in place of the current screen in the history (a form just sent must not
   * come back with the back button). */
  go(hash, { replace = false } = {}) {
    if (location.hash === hash) render();
    else if (replace) {
      location.replace(hash);
    } else location.hash = hash;
  },
  onLeave(fn) {
    this.leaveHandlers.push(fn);
  },
  drainSoon,
  refreshData,
  signOut,
  showLogin,
  requestBackgroundSync,
  applyUpdate,
};
window.safegrid = app; // handy for support staff in the browser console

let wakeTimer = null;

async function drainSoon() {
  if (!navigator.onLine) {
    updateBadge();
    return;
  }
  await sync.drain();
  scheduleWake();
}

async function scheduleWake() {
  clearTimeout(wakeTimer);
  const t = nextWakeAt(await db.getAll('outbox'));
  if (t === null) return;
  wakeTimer = setTimeout(drainSoon, Math.max(500, t - Date.now()));
  // If the app is closed before then, the browser sends it when it can (a registration is used up by
  // the sync it triggers, so one is made again for every drain that leaves work waiting).
  requestBackgroundSync();
}

async function requestBackgroundSync() {
  try {
    const reg = await navigator.serviceWorker?.ready;
    if (reg && reg.sync) await reg.sync.register('safegrid-outbox');
  } catch {
    /* Background Sync is optional */
  }
}

async function refreshData() {
  if (!navigator.onLine) return { ok: false, status: 0 };
  const r = await data.refresh();
  if (r.status === 401) authExpired();
  if (r.ok) {
    app.me = await data.me();
    // Lists show the fresh data, unless the inspector is typing in one.
    const typing = document.activeElement && document.activeElement.matches('input, textarea, select');
    if (/^#\/(today|findings|venue|finding\/)/.test(location.hash) && !typing) render();
  }
  return r;
}

// ---- header: sync badge, online state, banners -------------------------------------------------

async function updateBadge() {
  const s = summarize(await db.getAll('outbox'));
  const badge = document.getElementById('sync-badge');
  const count = badge.querySelector('.count');
  count.textContent = String(s.waiting);
  badge.dataset.state = s.attention || s.auth ? 'attention' : s.uploading ? 'uploading' : s.waiting ? 'waiting' : 'clear';
  badge.setAttribute(
    'aria-label',
    s.waiting ? `同步：${s.waiting} 项等待上传${s.attention ? `，${s.attention} 项需处理` : ''}` : '同步：全部已上传',
  );
  document.getElementById('net-state').hidden = navigator.onLine;
}

function banner(id, text, actionLabel, action) {
  const host = document.getElementById('banners');
  let el = document.getElementById(id);
  if (!el) {
    el = h('div', { id, class: 'banner', role: 'status' });
    host.append(el);
  }
  clear(el).append(
    h('span', {}, text),
    h('button', { type: 'button', class: 'btn small primary', onclick: action }, actionLabel),
  );
}

function removeBanner(id) {
  document.getElementById(id)?.remove();
}

function authExpired() {
  banner('auth-banner', '登录已过期，手机上的数据都还在。', '重新登录', () => showLogin({ relogin: true }));
}

// ---- app updates ------------------------------------------------------------------------------

function offerUpdate(worker) {
  app.waitingWorker = worker;
  maybeShowUpdate();
}

function maybeShowUpdate() {
  if (!app.waitingWorker) return;
  if (BUSY.test(location.hash)) {
    removeBanner('update-banner'); // never mid-checklist: offered again when the inspector leaves it
    return;
  }
  banner('update-banner', '有新版本可用。', '立即更新', applyUpdate);
}

let reloading = false;
function applyUpdate() {
  if (!app.waitingWorker) return;
  reloading = true;
  app.waitingWorker.postMessage({ type: 'skip-waiting' });
}

// Without the service worker the app does not open offline: say so on screen, not only in the console.
function offlineUnavailable() {
  if (document.getElementById('offline-banner')) return;
  document.getElementById('banners').append(
    h('div', { id: 'offline-banner', class: 'banner', role: 'alert' }, '此浏览器无法离线使用本应用：没有网络时打不开。请使用新版 Chrome 并通过 HTTPS 访问。'),
  );
}

async function registerWorker() {
  if (!('serviceWorker' in navigator)) return offlineUnavailable();
  try {
    const reg = await navigator.serviceWorker.register('/sw.js', { type: 'module', scope: '/', updateViaCache: 'none' });
    if (reg.waiting && navigator.serviceWorker.controller) offerUpdate(reg.waiting);
    reg.addEventListener('updatefound', () => {
      const w = reg.installing;
      if (!w) return;
      w.addEventListener('statechange', () => {
        if (w.state === 'installed' && navigator.serviceWorker.controller) offerUpdate(w);
      });
    });
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      if (reloading) location.reload();
    });
    navigator.serviceWorker.addEventListener('message', (e) => {
      if (e.data && e.data.type === 'drain') drainSoon();
    });
    // Look for a new version now and then (the browser also checks on navigation).
    setInterval(() => reg.update().catch(() => {}), 60 * 60 * 1000);
  } catch (e) {
    console.warn('service worker registration failed', e);
    offlineUnavailable();
  }
}

// ---- routing ----------------------------------------------------------------------------------

let renderSeq = 0;

async function render() {
  const seq = ++renderSeq;
  for (const fn of app.leaveHandlers.splice(0)) {
    try {
      await fn();
    } catch (e) {
      console.error(e);
    }
  }
  releaseUrls();
  const hash = location.hash || '#/today';
  let view = null;
  let params = [];
  for (const [re, fn] of routes) {
    const m = re.exec(hash);
    if (m) {
      view = fn;
      params = m.slice(1);
      break;
    }
  }
  if (!view) {
    location.replace('#/today');
    return;
  }
  for (const a of document.querySelectorAll('.tabbar a')) {
    const current = hash.startsWith(a.getAttribute('href').replace(/s$/, ''));
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  maybeShowUpdate();
  const main = app.main;
  const node = h('div', { class: 'view' });
  try {
    await view(app, node, ...params);
  } catch (e) {
    console.error(e);
    node.append(h('p', { class: 'empty error' }, '页面出错了，请返回后重试。')); // the details are in the console
  }
  if (seq !== renderSeq) return; // a newer navigation won while this view was loading
  clear(main).append(node);
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// ---- sign-in / sign-out -----------------------------------------------------------------------

async function showLogin({ relogin = false } = {}) {
  const main = app.main;
  const node = h('div', { class: 'view' });
  await loginView(app, node, {
    relogin,
    onSuccess: async () => {
      removeBanner('auth-banner');
      await sync.wakeAll();
      await start();
    },
    // An expired sign-in cannot be renewed in a valley with no signal: the work on the phone must stay
    // reachable (the banner keeps offering 重新登录, and nothing is sent until then).
    onContinue: relogin ? () => start() : null,
  });
  document.body.classList.add('signed-out');
  clear(main).append(node);
}

async function signOut() {
  const s = summarize(await db.getAll('outbox'));
  const drafts = (await db.getAll('drafts')).filter((d) => d.status === 'draft');
  const warnings = [];
  if (s.waiting) warnings.push(`还有 ${s.waiting} 项没有上传到服务器`);
  if (drafts.length) warnings.push(`还有 ${drafts.length} 份没有提交的检查/整改`);
  const body = warnings.length
    ? h('div', {}, h('p', { class: 'warn' }, `${warnings.join('；')}。退出后这些内容会从手机上删除，无法恢复。`))
    : h('p', {}, '退出后手机上的缓存数据会被清除。');
  const ok = await confirmDialog('退出登录', body, warnings.length ? '仍然退出并删除' : '退出', warnings.length > 0);
  if (!ok) return;
  if (navigator.onLine) await call('/auth/logout', { method: 'POST' });
  await db.clearAll();
  app.me = null;
  location.hash = '#/today';
  await showLogin();
}

// ---- start ------------------------------------------------------------------------------------

async function start() {
  document.body.classList.remove('signed-out');
  app.me = await data.me();
  if (!app.me && navigator.onLine) await refreshData();
  if (!location.hash) location.replace('#/today');
  await render();
  updateBadge();
  await sync.recover();
  await sync.wakeAll();
  drainSoon();
  if (navigator.onLine) refreshData();
}

async function boot() {
  app.main = document.getElementById('main');
  document.getElementById('sync-badge').addEventListener('click', () => app.go('#/sync'));
  sync.onChange((msg) => {
    updateBadge();
    if (msg.type === 'auth') authExpired();
    if (msg.type === 'synced' && !msg.remote) refreshData();
  });
  window.addEventListener('hashchange', () => {
    if (!document.body.classList.contains('signed-out')) render();
  });
  window.addEventListener('online', async () => {
    updateBadge();
    toast('网络已恢复，正在上传…');
    sync.restartSends();
    await sync.wakeAll();
    drainSoon();
    refreshData();
  });
  window.addEventListener('offline', () => {
    updateBadge();
    toast('已离线：检查照常进行，数据保存在手机上');
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') drainSoon();
  });
  registerWorker();
  if (navigator.storage && navigator.storage.persist) {
    navigator.storage.persisted().then((p) => p || navigator.storage.persist()).catch(() => {});
  }
  const token = await db.getMeta('token');
  if (!token) {
    await showLogin();
    return;
  }
  const expired = token.expires_at && new Date(token.expires_at).getTime() < Date.now();
  if (expired) authExpired();
  await start();
}

boot();
