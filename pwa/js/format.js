// Dates, deadlines and "due" marks (pure, tested under Node). Dates are shown in Asia/Shanghai.

const TZ = 'Asia/Shanghai';
const DAY = 24 * 3600 * 1000;

/** YYYY-MM-DD of an instant in Asia/Shanghai. */
export function shanghaiDate(instant) {
  const d = instant instanceof Date ? instant : new Date(instant);
  // China has had no DST since 1991: a fixed +08:00 offset is exact and needs no Intl tz data.
  return new Date(d.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

function dayNumber(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  return Date.UTC(y, m - 1, d) / DAY;
}

/** Deadline info for a finding; a deadline is due at the end of that day in Asia/Shanghai. */
export function deadlineInfo(deadline, now = Date.now()) {
  if (!deadline) return { daysLeft: null, overdue: false, label: '' };
  const left = dayNumber(deadline) - dayNumber(shanghaiDate(now));
  if (left < 0) return { daysLeft: left, overdue: true, label: `超期 ${-left} 天` };
  if (left === 0) return { daysLeft: 0, overdue: false, label: '今天到期' };
  return { daysLeft: left, overdue: false, label: `剩 ${left} 天` };
}

/** Days between inspections by risk level. */
export const INSPECTION_INTERVAL_DAYS = Object.freeze({ high: 30, normal: 60, low: 90 });

/** Days ahead in which a venue counts as "即将到期". */
export const SOON_DAYS = 7;

/** 'due' (到期: its next inspection is today or earlier), 'soon' (即将到期: within SOON_DAYS) or null. The
 * server's schedule gives `next_due`; the day is counted here so the mark moves on while offline. */
export function dueState(venue, now = Date.now()) {
  if (venue.next_due) {
    const left = dayNumber(venue.next_due) - dayNumber(shanghaiDate(now));
    if (left <= 0) return 'due';
    return left <= SOON_DAYS ? 'soon' : null;
  }
  return isDue(venue, now) ? 'due' : null;
}

/** A venue is due when never inspected or not inspected within its interval (the server's schedule when
 * the venue carries it; else a default by risk level, for a venue made on the phone). */
export function isDue(venue, now = Date.now()) {
  if (venue.next_due) return dayNumber(venue.next_due) <= dayNumber(shanghaiDate(now));
  if (!venue.last_inspected_at) return true;
  const days = INSPECTION_INTERVAL_DAYS[venue.risk_level] || INSPECTION_INTERVAL_DAYS.normal;
  return now - new Date(venue.last_inspected_at).getTime() > days * DAY;
}

/** "今天" / "昨天" / "3天前" / "2024-05-01". */
export function relativeDay(instant, now = Date.now()) {
  if (!instant) return '从未检查';
  const diff = dayNumber(shanghaiDate(now)) - dayNumber(shanghaiDate(instant));
  if (diff <= 0) return '今天';
  if (diff === 1) return '昨天';
  if (diff < 30) return `${diff}天前`;
  return shanghaiDate(instant);
}

/** "2024-05-01 14:03" in Asia/Shanghai. */
export function dateTime(instant) {
  if (!instant) return '';
  const d = new Date(new Date(instant).getTime() + 8 * 3600 * 1000).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 16)}`;
}

/** Search match over name, address and owner, case-insensitive, ignoring spaces. */
export function matches(venue, query) {
  const q = String(query || '').replace(/\s+/g, '').toLowerCase();
  if (!q) return true;
  const hay = [venue.name, venue.address, venue.owner_name, venue.kind_name]
    .filter(Boolean)
    .join('|')
    .replace(/\s+/g, '')
    .toLowerCase();
  return hay.includes(q);
}

/** Sort for the Today list: due first, then due soon, then the rest; within each, open findings first,
 * then the earliest due date, then by name. */
export function todayOrder(a, b, now = Date.now()) {
  const rank = (v) => ({ due: 0, soon: 1 })[dueState(v, now)] ?? 2;
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  const fa = a.open_findings > 0 ? 0 : 1;
  const fb = b.open_findings > 0 ? 0 : 1;
  if (fa !== fb) return fa - fb;
  const na = a.next_due || '';
  const nb = b.next_due || '';
  if (na !== nb) return na < nb ? -1 : 1;
  return String(a.name).localeCompare(String(b.name), 'zh-CN');
}

/** What a finding is called by its major-hazard status: 疑似 until the office has confirmed it (GB 35181 is
 * a judgement a grid inspector does not make), '重大' once confirmed; null for a general hazard. */
export function majorLabel(finding, { long = false } = {}) {
  const s = finding.major_status || (finding.severity === 'major' ? 'suspected' : null);
  if (s === 'suspected') return long ? '疑似重大事故隐患' : '疑似重大';
  if (s === 'confirmed') return long ? '重大事故隐患' : '重大';
  return null;
}
