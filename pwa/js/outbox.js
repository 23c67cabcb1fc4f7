// Outbox rules: pure functions, no I/O. Used by the page and by the service worker, tested under Node.
//
// An outbox item is one piece of work that must reach the server exactly once:
//   { id, kind, seq, created_at, title, method, path, body, photo_ids, photos_done, depends_on,
//     state, attempts, next_at, error, result, progress }
// kind: 'venue' | 'inspection' | 'rectification' | 'verification'
// state: 'pending' (saved on the phone, waiting) | 'uploading' | 'retry' (failed, will retry after next_at)
//        | 'attention' (the server refused it; the inspector must fix or discard it)
//        | 'auth' (needs a fresh sign-in) | 'done'

export const STATES = Object.freeze({
  PENDING: 'pending',
  UPLOADING: 'uploading',
  RETRY: 'retry',
  ATTENTION: 'attention',
  AUTH: 'auth',
  DONE: 'done',
});

export const BACKOFF = Object.freeze({ baseMs: 2000, capMs: 5 * 60 * 1000 });

/**
 * Exponential backoff with jitter ("equal jitter": half fixed, half random), so that many phones coming
 * back online at once do not hit the server in lockstep.
 * attempt 1 → [base/2, base], attempt 2 → [base, 2·base], … capped at capMs.
 */
export function backoffDelay(attempt, { baseMs = BACKOFF.baseMs, capMs = BACKOFF.capMs, random = Math.random } = {}) {
  const n = Math.max(1, Math.floor(attempt) || 1);
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(n - 1, 30));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(ceiling / 2 + (r * ceiling) / 2);
}

// A resend of one's own last rectification/verification (the reply was lost) is answered 200 by the
// server. A 409 to one is therefore someone else's transition, or ours after the finding moved on
// (verified and closed before our resend), or an older server that answered resends with 409. The
// status alone cannot tell these apart, and taking a colleague's work for ours would drop the
// inspector's rectification and delete its photos. So a 409 to a transition is 'confirm': the phone
// reads the finding and counts the item done only when its history holds this very transition by this
// user (ownTransition); otherwise the inspector is told why (confirmOutcome).

const isTransition = (item) => item.kind === 'rectification' || item.kind === 'verification';

/**
 * What to do with a reply. status 0 means the request never got a reply (network down, aborted).
 * Returns 'done' | 'retry' | 'auth' | 'attention' | 'confirm' (a 409 to a rectification/verification:
 * read the finding, then confirmOutcome()).
 */
export function classify(item, status, problem) {
  if (status >= 200 && status < 300) return 'done';
  if (status === 0 || status === 408 || status === 429 || status >= 500) return 'retry';
  if (status === 401) return 'auth';
  if (status === 409 && isTransition(item)) return 'confirm';
  return 'attention';
}

const blankToNull = (s) => (typeof s === 'string' && s.trim() ? s.trim() : null);
const idSet = (ids) => JSON.stringify([...(ids || [])].map((x) => String(x).toLowerCase()).sort());

function transitionActions(item) {
  if (item.kind === 'rectification') return ['rectify'];
  return item.body && item.body.result === 'fail' ? ['verify_fail'] : ['verify_pass'];
}

/** Does the finding's history hold this item's transition, made by userId (same note and photos)? */
export function ownTransition(item, finding, userId) {
  if (!isTransition(item) || !finding || !Array.isArray(finding.events) || !userId) return false;
  const actions = transitionActions(item);
  const body = item.body || {};
  return finding.events.some(
    (e) =>
      actions.includes(e.action) &&
      e.actor_id != null &&
      String(e.actor_id).toLowerCase() === String(userId).toLowerCase() &&
      blankToNull(e.note) === blankToNull(body.note) &&
      idSet(e.photo_ids) === idSet(body.photo_ids),
  );
}

const STATUS_TEXT = { open: '待整改', submitted: '待复查', closed: '已销号', void: '已作废' };

/**
 * After a 409 to a transition, from the reply to GET /findings/{id}: 'done' when our transition is in
 * its history; 'retry' / 'auth' when the finding could not be read now; else 'attention'.
 */
export function confirmOutcome(item, status, finding, userId) {
  if (status >= 200 && status < 300) return ownTransition(item, finding, userId) ? 'done' : 'attention';
  if (status === 0 || status === 408 || status === 429 || status >= 500) return 'retry';
  if (status === 401) return 'auth';
  return 'attention';
}

// Refusals that state a rule this transition breaks, not that the finding moved on: said in their own words.
const RULE_CODES = new Set(['major_decision_pending', 'four_eyes']);

/** The reason shown when a transition was refused: the rule it broke, or that the finding is elsewhere
 * now (someone else's rectification or verification came first). */
export function takenText(item, finding, problem = null) {
  const code = problem && problem.code;
  if (code && RULE_CODES.has(code)) return CODE_TEXT[code];
  const what = item.kind === 'rectification' ? '整改' : '复查';
  const now = finding && STATUS_TEXT[finding.status];
  return now ? `这条隐患在服务器上已是“${now}”（可能已由他人处理），这次${what}没有记入。` : `这次${what}没有被服务器接受。`;
}

/** Whether 重试 can change the answer to an item that needs the inspector. Not for a rectification or
 * verification the server refused on the finding's state or a rule (its state was read again to be sure),
 * nor for a photo no longer on the phone: offering it would only send the inspector round in circles. */
export function retryCanHelp(item) {
  const e = item.error || {};
  if (NEVER_AGAIN.has(e.code)) return false;
  // Awaiting the town's decision: once it is taken (a downgrade), the same verification goes through.
  if (e.code === 'major_decision_pending') return true;
  return !(isTransition(item) && (e.status === 403 || e.status === 409));
}

// Answers no resend changes: the photo is gone from the phone, a major hazard needs its evidence photo,
// the draw that sent the inspector was voided.
const NEVER_AGAIN = new Set(['photo_missing', 'evidence_required', 'assignment_voided']);

/** Same for one photo upload: 201 stored, 200 the same bytes are already there. */
export function classifyPhoto(status) {
  if (status === 200 || status === 201) return 'done';
  if (status === 0 || status === 408 || status === 429 || status >= 500) return 'retry';
  if (status === 401) return 'auth';
  return 'attention';
}

// The server's problem+json `code`s the inspector can meet, in the app's language (its `detail` is English,
// for scripts and logs).
const CODE_TEXT = {
  photo_required: '不合格项须至少拍一张照片',
  unknown_photos: '照片尚未上传，或属于其他区域',
  duplicate_photo_ids: '同一张照片重复添加',
  venue_not_found: '场所不存在，或不在您的辖区',
  assignment_voided: '派您检查此场所的双随机抽查已作废，该场所不在您的辖区，这次检查未被接受',
  area_out_of_scope: '该区域不在您的辖区',
  unknown_area: '区域编号不存在',
  unknown_venue_kind: '场所类型不存在',
  unknown_checklist: '检查表版本在服务器上不存在',
  checklist_not_for_venue: '该检查表不适用于此类场所',
  unknown_item: '检查项不在该检查表版本中',
  duplicate_answer: '同一检查项填写了两次',
  inspection_conflict: '该检查编号已用于另一份检查',
  photo_conflict: '该照片编号已用于另一张照片',
  id_conflict: '该编号已用于另一条记录',
  four_eyes: '整改提交人不能复查自己的整改',
  major_decision_pending: '疑似重大事故隐患须经镇里认定（或降为一般隐患）后才能复查销号',
  evidence_required: '重大事故隐患须有整改或复查照片才能销号',
  invalid_position: '位置信息无效',
  invalid_captured_at: '照片的拍摄时间无效',
  too_many_photos: '照片太多',
  already_submitted: '整改已提交，正在等待复查',
  not_submitted: '尚未提交整改，不能复查',
  finding_closed: '隐患已销号',
  finding_void: '隐患已作废',
  deadline_in_past: '整改期限不能早于今天',
  deadline_too_late: '整改期限超出网格员可定的范围，须由镇应急办延期',
  // A refused photo is refused again on every retry: the way out is to take it again.
  image_too_large: '照片像素太多，服务器不收。请删掉这张照片，重拍后再提交',
  invalid_image: '照片已损坏，无法读取。请删掉这张照片，重拍后再提交',
  unsupported_media_type: '照片格式不受支持。请删掉这张照片，重拍后再提交',
  file_too_large: '照片文件太大，服务器不收。请删掉这张照片，重拍后再提交',
  payload_too_large: '内容太大',
  validation_error: '内容不符合要求',
  rate_limited: '操作太频繁，请稍后再试',
  item_not_for_venue: '有检查项不适用于此类场所，却记为不合格',
  invalid_credentials: '用户名或密码错误',
  unauthorized: '登录已过期，请重新登录',
  forbidden: '没有权限',
  not_found: '服务器上找不到该对象',
  finding_not_found: '隐患不存在，或不在您的辖区',
  inspection_not_found: '检查记录不存在，或不在您的辖区',
  checklist_not_found: '检查表不存在',
};

/** "3 分钟" / "40 秒": how long to wait, from a Retry-After in seconds. */
export function waitText(seconds) {
  const s = Math.max(1, Math.ceil(Number(seconds) || 0));
  if (s < 60) return `${s} 秒`;
  const m = Math.ceil(s / 60);
  return m < 60 ? `${m} 分钟` : `${Math.ceil(m / 60)} 小时`;
}

const STATUS_TEXT_ZH = {
  0: '网络不通',
  400: '请求有误',
  401: '登录已过期，请重新登录',
  403: '没有权限',
  404: '服务器上找不到该对象',
  409: '与服务器上的记录冲突',
  413: '照片文件太大，服务器不收。请删掉这张照片，重拍后再提交',
  415: '不是图片文件',
  422: '内容不符合要求',
  429: '操作太频繁，请稍后再试',
};

/** A short Chinese reason for a refusal: the server's `code` in Chinese, else the HTTP status in words
 * (its problem+json `detail` is English, for scripts and logs, and never shown); an unknown code is named
 * for support. A 429 says how long to wait when the server says so. `text` is a reason the phone itself
 * wrote. */
export function reasonText(status, problem) {
  if (problem && problem.text) return String(problem.text); // written on the phone, in Chinese
  const code = problem && problem.code;
  if (status === 429 || code === 'rate_limited') {
    const wait = problem && problem.retry_after;
    return wait ? `操作太频繁，请 ${waitText(wait)}后再试` : CODE_TEXT.rate_limited;
  }
  if (code && CODE_TEXT[code]) return CODE_TEXT[code];
  // A code this version does not know yet: its detail if the server wrote it in Chinese, never English.
  if (problem && typeof problem.detail === 'string' && /[\u4e00-\u9fff]/.test(problem.detail)) return problem.detail;
  const base = STATUS_TEXT_ZH[status] || (status >= 500 ? '服务器出错，稍后自动重试' : `服务器返回 ${status}`);
  return code ? `${base}（错误代码 ${code}）` : base;
}

const OPEN_STATES = new Set([STATES.PENDING, STATES.UPLOADING, STATES.RETRY, STATES.ATTENTION, STATES.AUTH]);

export function isWaiting(item) {
  return OPEN_STATES.has(item.state);
}

/** Items that may be sent now, in the order they were made (a new venue before its inspection). */
export function runnable(items, now) {
  const byId = new Map(items.map((i) => [i.id, i]));
  return items
    .filter((i) => i.state === STATES.PENDING || i.state === STATES.UPLOADING || i.state === STATES.RETRY)
    .filter((i) => !i.next_at || i.next_at <= now)
    .filter((i) =>
      (i.depends_on || []).every((d) => {
        const dep = byId.get(d);
        return !dep || dep.state === STATES.DONE; // a dependency no longer in the outbox was synced and pruned
      }),
    )
    .sort(bySeq);
}

export function bySeq(a, b) {
  return (a.seq || 0) - (b.seq || 0) || String(a.id).localeCompare(String(b.id));
}

/** Items blocked behind a dependency that needs attention. */
export function blockedBy(item, items) {
  const byId = new Map(items.map((i) => [i.id, i]));
  return (item.depends_on || []).map((d) => byId.get(d)).filter((d) => d && d.state !== STATES.DONE);
}

/** When should the next retry run? null when nothing is scheduled. */
export function nextWakeAt(items) {
  let t = null;
  for (const i of items) {
    if ((i.state === STATES.RETRY || i.state === STATES.PENDING) && i.next_at && (t === null || i.next_at < t)) {
      t = i.next_at;
    }
  }
  return t;
}

export function summarize(items) {
  const s = { waiting: 0, attention: 0, auth: 0, uploading: 0, done: 0 };
  for (const i of items) {
    if (i.state === STATES.DONE) s.done += 1;
    else {
      s.waiting += 1;
      if (i.state === STATES.ATTENTION) s.attention += 1;
      if (i.state === STATES.AUTH) s.auth += 1;
      if (i.state === STATES.UPLOADING) s.uploading += 1;
    }
  }
  return s;
}

/** Apply the outcome of one attempt to an item; returns the updated copy. */
export function afterAttempt(item, outcome, { now, status = 0, problem = null, result = null, random } = {}) {
  const next = { ...item, progress: null };
  if (outcome === 'done') {
    return { ...next, state: STATES.DONE, error: null, next_at: null, done_at: now, result };
  }
  const error = { status, code: (problem && problem.code) || null, detail: reasonText(status, problem) };
  if (outcome === 'retry') {
    const attempts = (item.attempts || 0) + 1;
    return { ...next, state: STATES.RETRY, attempts, next_at: now + backoffDelay(attempts, { random }), error };
  }
  if (outcome === 'auth') return { ...next, state: STATES.AUTH, error: { ...error, detail: '登录已过期，请重新登录' } };
  return { ...next, state: STATES.ATTENTION, error };
}

/** After a crash or tab kill an item can be left 'uploading': it is simply pending again. */
export function recover(item) {
  if (item.state === STATES.UPLOADING) return { ...item, state: STATES.PENDING, progress: null };
  return item;
}

/** A request in flight is stopped and sent again at once when the network comes back, unless it is an
 * upload that moved a byte within RESTART_IDLE_MS: that one is alive, and on a flapping link starting it
 * again from zero at every return could keep a photo from ever arriving. progressAt: when a byte last went
 * out (0: never, as for a record, which has no progress to see). */
export const RESTART_IDLE_MS = 2000;
export function shouldRestart({ now, progressAt = 0 }) {
  return now - progressAt >= RESTART_IDLE_MS;
}

/** "Sync now" and a fresh sign-in: retry everything that was waiting on time or on the sign-in. */
export function wake(item) {
  if (item.state === STATES.RETRY || item.state === STATES.AUTH || item.state === STATES.PENDING) {
    return { ...item, state: STATES.PENDING, next_at: null };
  }
  return item;
}

/** Keep synced items for a while so the inspector sees them, then drop them. */
export function prunable(items, now, keepMs = 3 * 24 * 3600 * 1000, keepCount = 30) {
  const done = items.filter((i) => i.state === STATES.DONE).sort((a, b) => (b.done_at || 0) - (a.done_at || 0));
  return done.filter((i, idx) => idx >= keepCount || now - (i.done_at || 0) > keepMs).map((i) => i.id);
}

/**
 * Upload progress of an item in [0, 1]: photo bytes done plus bytes of the photo in flight, over all bytes.
 * sizes: {photoId: bytes}; the JSON request at the end counts as a small fixed share.
 */
export function progressFraction(item, sizes, inFlight = null) {
  const ids = item.photo_ids || [];
  const doneSet = new Set(item.photos_done || []);
  const tail = 2048;
  let total = tail;
  let done = 0;
  for (const id of ids) {
    const n = sizes[id] || 0;
    total += n;
    if (doneSet.has(id)) done += n;
    else if (inFlight && inFlight.id === id) done += Math.min(n, inFlight.loaded || 0);
  }
  if (item.state === STATES.DONE) return 1;
  return Math.max(0, Math.min(1, done / total));
}

/** Photos of an item still to upload, in order. */
export function photosToSend(item) {
  const doneSet = new Set(item.photos_done || []);
  return (item.photo_ids || []).filter((id) => !doneSet.has(id));
}

/** How many server thumbnails the phone keeps for offline viewing (the newest ones). */
export const THUMB_CAP = 200;

/**
 * What the phone can delete so that its storage stays flat however long it is used: synced outbox items
 * past their display time (prunable), drafts the server has confirmed (their outbox item is done or gone),
 * the oldest server thumbnails beyond THUMB_CAP, kept copies of findings no longer on the phone's lists,
 * and checklist versions pinned for drafts that are gone. Photos are deleted as soon as they are on the
 * server (sync.js). Returns {outbox, drafts, thumbs, meta}: keys to delete.
 */
export function prunePlan({ outbox = [], drafts = [], thumbs = [], metaKeys = [], findingIds = [], now, keepMs, keepCount, thumbCap = THUMB_CAP }) {
  const gone = new Set(prunable(outbox, now, keepMs, keepCount));
  const live = new Map(outbox.filter((i) => !gone.has(i.id)).map((i) => [i.id, i]));
  const confirmed = (d) => {
    if (d.status === 'synced') return true;
    if (d.status !== 'queued') return false;
    const item = d.outbox_id ? live.get(d.outbox_id) : null;
    return !item || item.state === STATES.DONE;
  };
  const dropDrafts = drafts.filter(confirmed).map((d) => d.id);
  const keptDrafts = drafts.filter((d) => !confirmed(d));
  const pins = new Set(keptDrafts.filter((d) => d.checklist_code).map((d) => `checklist:${d.checklist_code}@${d.checklist_version}`));
  const listed = new Set(findingIds.map(String));
  const meta = metaKeys.filter((k) => {
    if (k.startsWith('finding:')) return !listed.has(k.slice('finding:'.length));
    if (k.startsWith('checklist:')) return !pins.has(k);
    return false;
  });
  const byAge = [...thumbs].sort((a, b) => (b.at || 0) - (a.at || 0));
  return { outbox: [...gone], drafts: dropDrafts, thumbs: byAge.slice(thumbCap).map((t) => t.id), meta };
}
