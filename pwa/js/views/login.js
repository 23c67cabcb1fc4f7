import { call } from '../api.js';
import * as db from '../db.js';
import { reasonText, summarize, waitText } from '../outbox.js';
import { add, field, h } from '../ui.js';

export async function loginView(app, root, { relogin, onSuccess, onContinue = null }) {
  const last = await db.getMeta('username');
  const pending = summarize(await db.getAll('outbox')).waiting;
  // Unfinished inspections, rectifications and verifications are that person's work too: signing in as
  // someone else would wipe them with the rest of the phone's data.
  const venueDraft = await db.getMeta('venue-draft');
  const unfinished =
    (await db.getAll('drafts')).filter((d) => d.status === 'draft').length +
    (venueDraft && Object.entries(venueDraft).some(([k, v]) => k !== 'risk_level' && v) ? 1 : 0);
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, value: last || '', autocapitalize: 'off', spellcheck: 'false' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('p', { class: 'form-error', role: 'alert' });
  const btn = h('button', { type: 'submit', class: 'btn primary block' }, '登录');

  const form = h(
    'form',
    {
      class: 'login card',
      onsubmit: async (e) => {
        e.preventDefault();
        msg.textContent = '';
        const username = user.value.trim();
        if (!username || !pass.value) {
          msg.textContent = '请输入用户名和密码';
          return;
        }
        if ((pending || unfinished) && last && username !== last) {
          const what = [pending ? `${pending} 项没有上传` : '', unfinished ? `${unfinished} 份没有提交` : ''].filter(Boolean).join('、');
          msg.textContent = `手机上还有 ${last} 的工作（${what}），请用 ${last} 登录。`;
          return;
        }
        if (!navigator.onLine) {
          msg.textContent = '没有网络。登录需要联网一次，之后可以离线使用。';
          return;
        }
        btn.disabled = true;
        btn.textContent = '正在登录…';
        const r = await call('/auth/token', { method: 'POST', form: { username, password: pass.value }, auth: false });
        btn.disabled = false;
        btn.textContent = '登录';
        if (r.status === 401) {
          msg.textContent = '用户名或密码错误';
          return;
        }
        if (r.status === 429) {
          const wait = r.problem && r.problem.retry_after;
          msg.textContent = `登录失败次数太多，账号暂时锁定。${wait ? `请 ${waitText(wait)}后再试。` : '请稍后再试。'}`;
          return;
        }
        if (!r.ok) {
          msg.textContent = r.status === 0 ? '连不上服务器，请稍后再试' : `登录失败：${reasonText(r.status, r.problem)}`;
          return;
        }
        if (last && username !== last) await db.clearAll(); // another person's cache must not stay
        await db.run('meta', 'readwrite', (s) => {
          s.meta.put({ key: 'token', value: r.data });
          s.meta.put({ key: 'username', value: username });
        });
        pass.value = '';
        const me = await call('/me');
        if (me.ok) await db.setMeta('me', me.data);
        if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
        await onSuccess();
      },
    },
    h('h1', {}, h('span', { class: 'logo', 'aria-hidden': 'true' }, '安'), '安格 SafeGrid'),
    h('p', { class: 'muted' }, relogin ? '登录已过期，请重新登录。手机上的数据都还在。' : '隐患排查与整改 · 网格员登录'),
    field('用户名', user),
    field('密码', pass),
    msg,
    btn,
    pending ? h('p', { class: 'muted' }, `手机上有 ${pending} 项等待上传，登录后自动继续。`) : null,
    onContinue
      ? h(
          'button',
          { type: 'button', class: 'btn secondary block', 'data-testid': 'continue-offline', onclick: () => onContinue() },
          '先继续离线工作，有网络时再登录',
        )
      : null,
  );
  add(root, form);
  setTimeout(() => (user.value ? pass : user).focus(), 0);
}
