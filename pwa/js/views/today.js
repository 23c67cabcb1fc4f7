import * as data from '../data.js';
import * as db from '../db.js';
import { LIMITS, newDraft, templatesForKind, validate, validateVenue } from '../form.js';
import { dateTime, deadlineInfo, dueState, isDue, majorLabel, matches, relativeDay, todayOrder } from '../format.js';
import { isWaiting } from '../outbox.js';
import * as sync from '../sync.js';
import { add, emptyState, field, h, toast } from '../ui.js';

const PAGE = 60;

/** Open findings per venue: the cached findings are fresher than the venue's own counter. */
function openCounts(findings) {
  const m = new Map();
  for (const f of findings) if (f.status === 'open' && f.venue_id) m.set(f.venue_id, (m.get(f.venue_id) || 0) + 1);
  return m;
}

/** Inspections on the phone per venue: the newest one's time, and whether one still waits to upload. The
 * server's venue list knows of them only once they are uploaded and the list refreshed. */
function phoneInspections(outbox) {
  const m = new Map();
  for (const i of outbox) {
    if (i.kind !== 'inspection' || !i.body || !i.body.venue_id) continue;
    const cur = m.get(i.body.venue_id) || { at: null, waiting: false };
    const at = i.body.submitted_at || i.created_at;
    if (!cur.at || at > cur.at) cur.at = at;
    if (isWaiting(i)) cur.waiting = true;
    m.set(i.body.venue_id, cur);
  }
  return m;
}

function deadlineTag(day, now) {
  const dl = deadlineInfo(day, now);
  return h('span', { class: dl.overdue ? 'tag danger' : 'tag warn' }, dl.label);
}

export async function todayView(app, root) {
  const [venues, kinds, findings, drafts, outbox, assignments] = await Promise.all([
    data.venues(),
    data.kindNames(),
    data.findings(),
    db.getAll('drafts'),
    db.getAll('outbox'),
    data.assignments(),
  ]);
  const onPhone = phoneInspections(outbox);
  const counts = openCounts(findings);
  const haveFindings = findings.length > 0;
  const inProgress = new Set(drafts.filter((d) => d.status === 'draft' && d.venue_id).map((d) => d.venue_id));
  const now = Date.now();
  for (const v of venues) {
    v.kind_name = kinds[v.kind] || v.kind;
    v.open_findings = haveFindings || !v.open_findings ? counts.get(v.id) || 0 : v.open_findings;
  }
  venues.sort((a, b) => todayOrder(a, b, now));
  // An inspection done on the phone since the server's schedule counts here too, as it does in each row.
  const inspectedHere = (v) => {
    const phone = onPhone.get(v.id);
    return Boolean(phone && (!v.last_inspected_at || new Date(phone.at) > new Date(v.last_inspected_at)));
  };
  const due = venues.filter((v) => isDue(v, now) && !inspectedHere(v)).length;

  const search = h('input', { type: 'search', placeholder: '搜索场所名称、地址、负责人', 'aria-label': '搜索场所', enterkeyhint: 'search' });
  const list = h('ul', { class: 'list', 'data-testid': 'venue-list' });
  let limit = PAGE;
  const more = h('button', { type: 'button', class: 'btn secondary block', onclick: () => ((limit += PAGE), draw()) }, '显示更多');

  function row(v) {
    const marks = [];
    if (v._local) marks.push(h('span', { class: 'tag info' }, '新建·待上传'));
    if (inProgress.has(v.id)) marks.push(h('span', { class: 'tag info' }, '检查未完成'));
    const phone = onPhone.get(v.id);
    const phoneNewer = inspectedHere(v);
    if (phone && phone.waiting) marks.push(h('span', { class: 'tag info', 'data-testid': 'inspection-waiting' }, '检查待上传'));
    if (v.open_findings > 0) marks.push(h('span', { class: 'tag danger' }, `隐患 ${v.open_findings}`));
    const state = phoneNewer ? null : dueState(v, now);
    if (state === 'due') marks.push(h('span', { class: 'tag warn', 'data-testid': 'due-mark', title: v.next_due ? `应检日期 ${v.next_due}` : null }, '到期'));
    else if (state === 'soon') marks.push(h('span', { class: 'tag', 'data-testid': 'due-mark', title: `应检日期 ${v.next_due}` }, '即将到期'));
    const last = phoneNewer ? `${relativeDay(phone.at, now)}${phone.waiting ? '（在手机上）' : ''}` : relativeDay(v.last_inspected_at, now);
    return h(
      'li',
      {},
      h(
        'a',
        { class: 'row', href: `#/venue/${v.id}`, 'data-testid': 'venue-row' },
        h('span', { class: 'row-main' }, h('strong', {}, v.name), h('span', { class: 'muted small' }, `${v.kind_name} · 上次检查：${last}`)),
        h('span', { class: 'row-tags' }, marks),
      ),
    );
  }

  function draw() {
    const hits = venues.filter((v) => matches(v, search.value));
    list.replaceChildren(...hits.slice(0, limit).map(row));
    if (!hits.length) list.append(h('li', {}, emptyState(venues.length ? '没有找到匹配的场所' : '还没有场所数据。联网后会自动下载。')));
    more.hidden = hits.length <= limit;
  }
  search.addEventListener('input', () => {
    limit = PAGE;
    draw();
  });
  draw();

  const refreshBtn = h('button', {
    type: 'button',
    class: 'btn secondary small',
    onclick: async () => {
      refreshBtn.disabled = true;
      const r = await app.refreshData();
      refreshBtn.disabled = false;
      if (r.ok) app.go('#/today');
      else toast(r.status === 0 ? '没有网络，显示的是手机上保存的数据' : '刷新失败', { error: true });
    },
  }, '刷新');

  // 双随机 draws: venues this inspector was drawn to inspect, with the draw's due date.
  const drawn = assignments.filter((a) => !a.done);
  const drawnList = drawn.length
    ? h(
        'section',
        { class: 'card', 'data-testid': 'assignments' },
        h('h2', {}, `双随机抽查任务（${drawn.length}）`),
        h(
          'ul',
          { class: 'list' },
          drawn.map((a) =>
            h(
              'li',
              {},
              h(
                'a',
                { class: 'row', href: `#/venue/${a.venue_id}`, 'data-testid': 'assignment-row' },
                h('span', { class: 'row-main' }, h('strong', {}, a.venue_name), h('span', { class: 'muted small' }, `${a.venue_address || ''} · `, h('span', { class: 'nowrap' }, `${a.due_on} 前完成`))),
                h('span', { class: 'row-tags' }, deadlineTag(a.due_on, now)),
              ),
            ),
          ),
        ),
      )
    : null;

  add(root, 
    h('div', { class: 'title-row' }, h('h1', {}, '今日检查'), refreshBtn),
    h('p', { class: 'muted' }, `我的场所 ${venues.length} 个，到期待检 ${due} 个`),
    drawnList,
    h('div', { class: 'search' }, search),
    h('a', { class: 'btn primary block', href: '#/new-venue', 'data-testid': 'new-venue' }, '＋ 新建场所'),
    list,
    more,
  );
}

export async function venueView(app, root, id) {
  const v = await data.venue(id);
  if (!v) {
    add(root, h('h1', {}, '场所'), emptyState('手机上没有这个场所的数据。'));
    return;
  }
  const [kinds, areas, checklists, findings, drafts, outbox] = await Promise.all([
    data.kindNames(),
    data.areaNames(),
    data.checklists(),
    data.findings(),
    db.getAll('drafts'),
    db.getAll('outbox'),
  ]);
  const templates = templatesForKind(checklists, v.kind);
  const mine = findings.filter((f) => f.venue_id === v.id && (f.status === 'open' || f.status === 'submitted'));
  const queued = outbox.filter((i) => i.kind === 'inspection' && i.body && i.body.venue_id === v.id && isWaiting(i));

  const start = async (t) => {
    const existing = drafts.find((d) => d.status === 'draft' && d.venue_id === v.id && d.checklist_code === t.code);
    if (existing) return app.go(`#/inspect/${existing.id}`);
    const draft = newDraft({ id: crypto.randomUUID(), venue: v, template: t, now: new Date().toISOString() });
    // The template version is pinned with the draft: a refresh may bring a newer one before it is sent.
    await db.run(['drafts', 'meta'], 'readwrite', (s) => {
      s.drafts.put(draft);
      s.meta.put({ key: data.templateKey(t.code, t.version), value: t });
    });
    app.go(`#/inspect/${draft.id}`);
  };

  add(root, 
    h('p', {}, h('a', { href: '#/today', class: 'back' }, '‹ 今日检查')),
    h('h1', {}, v.name),
    h(
      'dl',
      { class: 'facts card' },
      h('dt', {}, '类型'), h('dd', {}, kinds[v.kind] || v.kind),
      h('dt', {}, '区域'), h('dd', {}, areas[v.area_code] || v.area_code || '—'),
      v.address ? [h('dt', {}, '地址'), h('dd', {}, v.address)] : null,
      v.owner_name ? [h('dt', {}, '负责人'), h('dd', {}, v.owner_name)] : null,
      v.owner_phone ? [h('dt', {}, '电话'), h('dd', {}, h('a', { href: `tel:${v.owner_phone}` }, v.owner_phone))] : null,
      h('dt', {}, '上次检查'), h('dd', {}, v.last_inspected_at ? dateTime(v.last_inspected_at) : '从未检查'),
      v.risk_level === 'high' ? [h('dt', {}, '风险'), h('dd', {}, h('span', { class: 'tag danger' }, '高风险'))] : null,
    ),
    queued.length ? h('p', { class: 'notice' }, `有 ${queued.length} 份检查保存在手机上，等待上传。`) : null,
    h('h2', {}, '开始检查'),
    templates.length
      ? h(
          'div',
          { class: 'stack' },
          templates.map((t) => {
            const d = drafts.find((x) => x.status === 'draft' && x.venue_id === v.id && x.checklist_code === t.code);
            const answered = d ? validate(t, d).counts : null;
            return h(
              'button',
              { type: 'button', class: 'btn primary block', 'data-testid': `start-${t.code}`, onclick: () => start(t) },
              d ? `继续：${t.title}（已答 ${answered.total - answered.unanswered}/${answered.total}）` : t.title,
            );
          }),
        )
      : emptyState('没有适用于该类型场所的检查表（联网后会更新）。'),
    h('h2', {}, `未销号隐患（${mine.length}）`),
    mine.length
      ? h(
          'ul',
          { class: 'list' },
          mine.map((f) => {
            const dl = deadlineInfo(f.deadline);
            return h(
              'li',
              {},
              h('a', { class: 'row', href: `#/finding/${f.id}` },
                h('span', { class: 'row-main' }, h('strong', {}, f.title), h('span', { class: 'muted small' }, `期限 ${f.deadline} · ${f.status === 'submitted' ? '待复查' : '待整改'}`)),
                h('span', { class: 'row-tags' }, majorLabel(f) ? h('span', { class: 'tag danger' }, majorLabel(f)) : null, dl.overdue || f.overdue ? h('span', { class: 'tag danger' }, dl.label || '超期') : null),
              ),
            );
          }),
        )
      : emptyState('没有未销号的隐患。'),
  );
}

function locate(onFix) {
  if (!('geolocation' in navigator)) {
    onFix(null, '此设备不支持定位');
    return;
  }
  navigator.geolocation.getCurrentPosition(
    (p) => onFix({ lat: p.coords.latitude, lng: p.coords.longitude, accuracy_m: Math.round(p.coords.accuracy) }),
    (e) => onFix(null, e.code === 1 ? '没有定位权限' : '暂时无法定位'),
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 },
  );
}

const VENUE_DRAFT = 'venue-draft';

export async function newVenueView(app, root) {
  const [kinds, areas, me, areaList] = await Promise.all([db.getAll('kinds'), data.areaNames(), data.me(), db.getMeta('areas')]);
  const areaCodes = data.myAreas((me && me.area_codes) || [], areaList || []);
  const name = h('input', { name: 'name', required: true, maxlength: String(LIMITS.venueName), autocomplete: 'off' });
  const kind = h('select', { name: 'kind', required: true }, h('option', { value: '' }, '请选择'), kinds.map((k) => h('option', { value: k.code }, k.name)));
  // With several grids nothing is chosen for the inspector: a venue filed in the first grid by default
  // would be another inspector's, and be missed by its own.
  const area = h(
    'select',
    { name: 'area_code' },
    areaCodes.length > 1 ? h('option', { value: '' }, '请选择网格') : null,
    areaCodes.map((c) => h('option', { value: c }, areas[c] || c)),
  );
  const address = h('input', { name: 'address', maxlength: String(LIMITS.venueAddress), autocomplete: 'off' });
  const owner = h('input', { name: 'owner_name', maxlength: String(LIMITS.ownerName), autocomplete: 'off' });
  const phone = h('input', { name: 'owner_phone', type: 'tel', inputmode: 'tel', maxlength: '20', autocomplete: 'off' });
  const risk = h('select', { name: 'risk_level' }, h('option', { value: 'normal' }, '一般'), h('option', { value: 'high' }, '高'), h('option', { value: 'low' }, '低'));
  const gps = h('p', { class: 'gps', 'data-testid': 'gps', role: 'status' }, '正在定位…');
  const errors = h('p', { class: 'form-error', role: 'alert' });
  // What is typed is kept on the phone as it is typed (a reload, a call, the app killed): the inspector
  // comes back to the form as they left it.
  const inputs = { name, kind, area_code: area, address, owner_name: owner, owner_phone: phone, risk_level: risk };
  const kept = (await db.getMeta(VENUE_DRAFT)) || {};
  for (const [k, input] of Object.entries(inputs)) if (typeof kept[k] === 'string') input.value = kept[k];
  const keep = () => db.setMeta(VENUE_DRAFT, Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value]))).catch(() => {});
  let pos = null;
  const fix = () => {
    gps.textContent = '正在定位…';
    locate((p, err) => {
      pos = p;
      gps.textContent = p ? `已定位：${p.lat.toFixed(5)}, ${p.lng.toFixed(5)}（精度约 ${p.accuracy_m} 米）` : `${err}，可以稍后重新定位`;
    });
  };
  fix();

  let sending = false;
  const form = h(
    'form',
    {
      class: 'card',
      oninput: keep,
      onchange: keep,
      onsubmit: async (e) => {
        e.preventDefault();
        if (sending) return; // a second tap would file the venue twice
        const v = {
          name: name.value.trim(),
          kind: kind.value,
          area_code: area.value,
          address: address.value.trim() || null,
          owner_name: owner.value.trim() || null,
          owner_phone: phone.value.trim() || null,
          risk_level: risk.value,
          lat: pos ? pos.lat : null,
          lng: pos ? pos.lng : null,
        };
        const check = validateVenue(v);
        if (!check.ok) {
          errors.textContent = Object.values(check.errors).join('；');
          return;
        }
        sending = true;
        const id = crypto.randomUUID();
        const item = sync.newItem({ kind: 'venue', title: `新建场所：${v.name}`, path: `/venues/${id}`, body: v, ref: { venue_id: id } });
        try {
          await db.run(['venues', 'outbox', 'meta'], 'readwrite', (s) => {
            s.venues.put({ id, ...v, last_inspected_at: null, open_findings: 0, _local: true, _outbox_id: item.id });
            s.outbox.put(item);
            s.meta.delete(VENUE_DRAFT);
          });
        } catch {
          errors.textContent = '保存失败：手机存储空间可能不足，请重试。';
          sending = false;
          return;
        }
        sync.emit({ type: 'changed' });
        app.requestBackgroundSync();
        app.drainSoon();
        toast('场所已保存在手机上');
        app.go(`#/venue/${id}`, { replace: true });
      },
    },
    field('场所名称', name),
    field('类型', kind),
    areaCodes.length > 1 ? field('所属区域', area) : null,
    field('地址', address),
    field('负责人', owner),
    field('联系电话', phone),
    field('风险等级', risk),
    h('div', { class: 'field' }, h('span', { class: 'field-label' }, '位置'), gps, h('button', { type: 'button', class: 'btn secondary small', onclick: fix }, '重新定位')),
    errors,
    h('button', { type: 'submit', class: 'btn primary block', 'data-testid': 'save-venue' }, '保存场所'),
    h(
      'button',
      {
        type: 'button',
        class: 'btn secondary block',
        'data-testid': 'clear-venue',
        onclick: async () => {
          await db.del('meta', VENUE_DRAFT);
          for (const input of [name, address, owner, phone]) input.value = '';
          kind.value = '';
          risk.value = 'normal';
          if (areaCodes.length > 1) area.value = '';
        },
      },
      '清空重填',
    ),
  );
  if (areaCodes.length <= 1) area.hidden = true;
  add(root, h('p', {}, h('a', { href: '#/today', class: 'back' }, '‹ 今日检查')), h('h1', {}, '新建场所'), form);
}
