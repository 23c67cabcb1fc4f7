// 安格 SafeGrid console of the town safety office (镇应急办): start-up, sign-in, routing.

import { h, clear } from '/js/ui.js';
import { call, getToken, setToken, whenUnauthorized } from './api.js';
import { errorText, ROLE } from './labels.js';
import { drawView, drawsView } from './views/draws.js';
import { findingView, findingsView } from './views/findings.js';
import { homeView } from './views/home.js';
import { majorView } from './views/major.js';
import { reportView, reportsView } from './views/reports.js';
import { statsView } from './views/stats.js';
import { releaseAll, toast } from './widgets.js';

const routes = [
  [/^\/?$/, 'home', homeView],
  [/^\/reports$/, 'reports', reportsView],
  [/^\/report\/([\w-]+)$/, 'reports', reportView],
  [/^\/findings$/, 'findings', findingsView],
  [/^\/finding\/([\w-]+)$/, 'findings', findingView],
  [/^\/major$/, 'major', majorView],
  [/^\/stats$/, 'stats', statsView],
  [/^\/draws$/, 'draws', drawsView],
  [/^\/draw\/([\w-]+)$/, 'draws', drawView],
];

const ctx = {
  me: null,
  areas: [],
  main: null,
  areaName(code) {
    const a = this.areas.find((x) => x.code === code);
    return a ? a.name : code || '—';
  },
  /** The villages and communities (the areas directly below the town), or the user's own areas. */
  villages() {
    const codes = new Set(this.areas.map((a) => a.code));
    const tops = this.areas.filter((a) => !a.parent_code || !codes.has(a.parent_code));
    const below = this.areas.filter((a) => tops.some((t) => t.code === a.parent_code));
    return below.length ? below : tops;
  },
  go(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  },
  refresh: () => render(),
  toast,
};

/** The route and its query: "#/findings?status=open" → {path: "/findings", query: URLSearchParams}. */
export function parseHash(hash) {
  const raw = (hash || '').replace(/^#/, '');
  const [path, query] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(query || '') };
}

let seq = 0;
async function render() {
  const mine = ++seq;
  releaseAll();
  const { path, query } = parseHash(location.hash);
  let found = null;
  for (const [re, name, view] of routes) {
    const m = re.exec(path);
    if (m) {
      found = { name, view, params: m.slice(1) };
      break;
    }
  }
  if (!found) {
    location.replace('#/');
    return;
  }
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.route === found.name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const node = h('div', { class: 'view' });
  try {
    await found.view(ctx, node, query, ...found.params);
  } catch (e) {
    console.error(e);
    node.append(h('p', { class: 'error', role: 'alert' }, `出错了：${e.message || e}`));
  }
  if (mine !== seq || !ctx.me) return; // a newer screen, or the sign-in ran out meanwhile
  clear(ctx.main).append(node);
  const heading = node.querySelector('h1');
  document.title = `${heading ? heading.textContent : '控制台'} · 安格 镇应急办控制台`;
  ctx.main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function signedIn(on) {
  document.body.classList.toggle('signed-out', !on);
  document.getElementById('nav').hidden = !on;
  document.getElementById('sign-out').hidden = !on;
  document.getElementById('who').textContent = on && ctx.me ? `${ctx.me.display_name || ctx.me.username}（${ROLE[ctx.me.role] || ctx.me.role}）` : '';
}

function loginView(message) {
  const user = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'off', spellcheck: 'false' });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'login-error' });
  if (message) msg.append(message);
  const btn = h('button', { type: 'submit', class: 'btn primary' }, '登录');
  const form = h(
    'form',
    {
      class: 'login card',
      'data-testid': 'login',
      onsubmit: async (e) => {
        e.preventDefault();
        clear(msg);
        const username = user.value.trim();
        if (!username || !pass.value) {
          msg.textContent = '请输入用户名和密码。';
          return;
        }
        btn.disabled = true;
        btn.textContent = '正在登录…';
        const r = await call('/auth/token', { method: 'POST', form: { username, password: pass.value }, auth: false });
        btn.disabled = false;
        btn.textContent = '登录';
        if (!r.ok) {
          msg.textContent = r.status === 401 ? '用户名或密码错误。' : errorText(r);
          return;
        }
        setToken(r.data);
        const me = await call('/me');
        if (!me.ok) {
          setToken(null);
          msg.textContent = errorText(me);
          return;
        }
        if (me.data.role !== 'supervisor' && me.data.role !== 'admin') {
          // The token of an inspector is of no use here: revoke it rather than leave it lying in the tab.
          await call('/auth/logout', { method: 'POST' });
          setToken(null);
          pass.value = '';
          msg.append(
            '控制台供镇应急办（督办人员）和系统管理员使用。网格员请使用手机端：',
            h('a', { href: '/', 'data-testid': 'phone-app-link' }, '打开网格员手机端'),
            '。',
          );
          return;
        }
        pass.value = '';
        await start(me.data);
      },
    },
    h('h1', {}, '镇应急办控制台'),
    h('p', { class: 'muted' }, '举报核查、重大事故隐患认定与挂牌督办、延期、复查、各村考核。'),
    h('div', { class: 'field' }, h('label', { for: 'login-username' }, '用户名'), user),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, '密码'), pass),
    msg,
    btn,
  );
  signedIn(false);
  clear(ctx.main).append(h('div', { class: 'view narrow' }, form));
  document.title = '登录 · 安格 镇应急办控制台';
  setTimeout(() => user.focus(), 0);
}

async function start(me) {
  ctx.me = me;
  const areas = await call('/areas');
  ctx.areas = areas.ok ? areas.data : [];
  signedIn(true);
  if (!location.hash) location.replace('#/');
  await render();
}

async function signOut() {
  await call('/auth/logout', { method: 'POST' });
  setToken(null);
  ctx.me = null;
  history.replaceState(null, '', location.pathname);
  loginView();
  toast('已退出登录。');
}

async function boot() {
  ctx.main = document.getElementById('main');
  document.getElementById('sign-out').addEventListener('click', signOut);
  whenUnauthorized(() => {
    if (!ctx.me) return;
    seq += 1; // a screen still loading must not cover the sign-in form
    setToken(null);
    ctx.me = null;
    // A modal dialog would stay on top of the sign-in form, which could then not be reached.
    const open = [...document.querySelectorAll('dialog[open]')];
    for (const dlg of open) {
      dlg.dispatchEvent(new Event('cancel', { cancelable: true }));
      if (dlg.isConnected) dlg.remove();
    }
    loginView(open.length ? '登录已过期，请重新登录。没有提交成功的内容需要重新填写。' : '登录已过期，请重新登录。');
  });
  window.addEventListener('hashchange', () => {
    if (ctx.me) render();
  });
  // Back at the console after a while: the work queue shows today's counts, not the morning's.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && ctx.me && parseHash(location.hash).path === '/') render();
  });
  if (!getToken()) {
    loginView();
    return;
  }
  const me = await call('/me');
  if (!me.ok || !['supervisor', 'admin'].includes(me.data.role)) {
    setToken(null);
    loginView();
    return;
  }
  await start(me.data);
}

boot();
