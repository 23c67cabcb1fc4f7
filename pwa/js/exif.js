// Capture time and position from a photo's EXIF (pure, tested under Node on real JPEG bytes).
//
// The phone re-encodes every photo through a canvas, which drops the camera's metadata; what the
// original file said about when and where it was taken is read here first and kept as evidence.
// Only the few tags needed are read: DateTimeOriginal (+ OffsetTimeOriginal), the GPS position and its
// stated error, and the GPS date/time (UTC). Anything malformed yields nulls, never an exception.

const TAG = Object.freeze({
  EXIF_IFD: 0x8769,
  GPS_IFD: 0x8825,
  DATETIME: 0x0132,
  DATETIME_ORIGINAL: 0x9003,
  OFFSET_TIME_ORIGINAL: 0x9011,
  GPS_LAT_REF: 0x0001,
  GPS_LAT: 0x0002,
  GPS_LNG_REF: 0x0003,
  GPS_LNG: 0x0004,
  GPS_TIME: 0x0007,
  GPS_DATE: 0x001d,
  GPS_H_ERROR: 0x001f,
});

const TYPE_SIZE = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };

/** How many leading bytes of a file to read: EXIF lives in APP1, within the first 64 KiB. */
export const EXIF_BYTES = 128 * 1024;

/** The TIFF block of a JPEG's EXIF APP1 segment as a DataView, or null. */
export function exifBlock(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return null; // image data: no EXIF before it
    const len = (b[i + 2] << 8) | b[i + 3];
    if (len < 2) return null;
    const start = i + 4;
    const end = Math.min(i + 2 + len, b.length);
    if (marker === 0xe1 && end - start > 14 && String.fromCharCode(...b.subarray(start, start + 4)) === 'Exif' && b[start + 4] === 0 && b[start + 5] === 0) {
      return new DataView(b.buffer, b.byteOffset + start + 6, end - start - 6);
    }
    i += 2 + len;
  }
  return null;
}

function readIfd(view, offset, little) {
  const tags = new Map();
  if (offset < 8 || offset + 2 > view.byteLength) return tags;
  const count = view.getUint16(offset, little);
  for (let n = 0; n < count; n += 1) {
    const e = offset + 2 + n * 12;
    if (e + 12 > view.byteLength) break;
    const tag = view.getUint16(e, little);
    const type = view.getUint16(e + 2, little);
    const num = view.getUint32(e + 4, little);
    const size = (TYPE_SIZE[type] || 0) * num;
    if (!size) continue;
    const at = size <= 4 ? e + 8 : view.getUint32(e + 8, little);
    if (at + size > view.byteLength) continue;
    tags.set(tag, { type, num, at });
  }
  return tags;
}

function value(view, entry, little) {
  if (!entry) return null;
  const { type, num, at } = entry;
  if (type === 2) {
    let s = '';
    for (let k = 0; k < num; k += 1) {
      const c = view.getUint8(at + k);
      if (c === 0) break;
      s += String.fromCharCode(c);
    }
    return s.trim();
  }
  const out = [];
  for (let k = 0; k < num; k += 1) {
    if (type === 5 || type === 10) {
      const p = at + k * 8;
      const nu = type === 5 ? view.getUint32(p, little) : view.getInt32(p, little);
      const de = type === 5 ? view.getUint32(p + 4, little) : view.getInt32(p + 4, little);
      out.push(de === 0 ? NaN : nu / de);
    } else if (type === 3) out.push(view.getUint16(at + k * 2, little));
    else if (type === 4) out.push(view.getUint32(at + k * 4, little));
    else if (type === 9) out.push(view.getInt32(at + k * 4, little));
    else out.push(view.getUint8(at + k));
  }
  return out;
}

function degrees(dms, ref) {
  if (!Array.isArray(dms) || dms.length < 1 || dms.some((x) => !Number.isFinite(x))) return null;
  const [d, m = 0, s = 0] = dms;
  const v = d + m / 60 + s / 3600;
  return ref === 'S' || ref === 'W' ? -v : v;
}

const pad = (n, w = 2) => String(Math.trunc(Math.abs(n))).padStart(w, '0');

/** "+08:00" for a UTC offset in minutes east. */
export function offsetText(minutesEast) {
  const sign = minutesEast < 0 ? '-' : '+';
  return `${sign}${pad(Math.abs(minutesEast) / 60)}:${pad(Math.abs(minutesEast) % 60)}`;
}

/** An instant as ISO 8601 with the phone's own UTC offset, e.g. 2026-11-30T09:00:00+08:00. */
export function isoWithOffset(date) {
  const east = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + east * 60000);
  return `${local.toISOString().slice(0, 19)}${offsetText(east)}`;
}

const EXIF_TIME = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;
const OFFSET = /^[+-]\d{2}:\d{2}$/;

/**
 * When the photo was taken, as ISO 8601 with an offset: DateTimeOriginal with its OffsetTimeOriginal;
 * else the GPS date and time (UTC); else DateTimeOriginal read in the phone's own time zone (zoneOffset:
 * (y, mo, d, h, mi, s) → minutes east of UTC there, the phone's zone by default). null when the photo
 * does not say.
 */
function captureTime(original, offset, gpsDate, gpsTime, zoneOffset) {
  const m = original ? EXIF_TIME.exec(original) : null;
  if (m && /^0000/.test(original)) return null;
  if (m && offset && OFFSET.test(offset)) return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${offset}`;
  const g = gpsDate ? /^(\d{4}):(\d{2}):(\d{2})$/.exec(gpsDate) : null;
  if (g && Array.isArray(gpsTime) && gpsTime.length === 3 && gpsTime.every(Number.isFinite)) {
    const [h, mi, s] = gpsTime;
    return `${g[1]}-${g[2]}-${g[3]}T${pad(h)}:${pad(mi)}:${pad(Math.floor(s))}+00:00`;
  }
  if (m) {
    const east = zoneOffset(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    return Number.isFinite(east) ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${offsetText(east)}` : null;
  }
  return null;
}

const phoneZone = (y, mo, d, h, mi, s) => -new Date(y, mo, d, h, mi, s).getTimezoneOffset();

/**
 * Read {captured_at, lat, lng, accuracy_m} from the leading bytes of a JPEG (ArrayBuffer or Uint8Array);
 * each is null when the photo does not carry it.
 */
export function readExif(bytes, { zoneOffset = phoneZone } = {}) {
  const none = { captured_at: null, lat: null, lng: null, accuracy_m: null };
  let view;
  try {
    view = exifBlock(bytes);
  } catch {
    return none;
  }
  if (!view || view.byteLength < 8) return none;
  try {
    const order = view.getUint16(0);
    if (order !== 0x4949 && order !== 0x4d4d) return none;
    const little = order === 0x4949;
    if (view.getUint16(2, little) !== 42) return none;
    const ifd0 = readIfd(view, view.getUint32(4, little), little);
    const exifPtr = value(view, ifd0.get(TAG.EXIF_IFD), little);
    const gpsPtr = value(view, ifd0.get(TAG.GPS_IFD), little);
    const exif = exifPtr ? readIfd(view, exifPtr[0], little) : new Map();
    const gps = gpsPtr ? readIfd(view, gpsPtr[0], little) : new Map();

    let lat = degrees(value(view, gps.get(TAG.GPS_LAT), little), value(view, gps.get(TAG.GPS_LAT_REF), little));
    let lng = degrees(value(view, gps.get(TAG.GPS_LNG), little), value(view, gps.get(TAG.GPS_LNG_REF), little));
    // 0,0 is what some phones write when they had no fix.
    if (lat === null || lng === null || Math.abs(lat) > 90 || Math.abs(lng) > 180 || (lat === 0 && lng === 0)) {
      lat = null;
      lng = null;
    }
    const err = value(view, gps.get(TAG.GPS_H_ERROR), little);
    const accuracy = lat !== null && err && Number.isFinite(err[0]) && err[0] >= 0 ? Math.round(err[0] * 10) / 10 : null;
    const original = value(view, exif.get(TAG.DATETIME_ORIGINAL), little) || value(view, ifd0.get(TAG.DATETIME), little);
    const captured = captureTime(
      original,
      value(view, exif.get(TAG.OFFSET_TIME_ORIGINAL), little),
      value(view, gps.get(TAG.GPS_DATE), little),
      value(view, gps.get(TAG.GPS_TIME), little),
      zoneOffset,
    );
    return {
      captured_at: captured,
      lat: lat === null ? null : Math.round(lat * 1e7) / 1e7,
      lng: lng === null ? null : Math.round(lng * 1e7) / 1e7,
      accuracy_m: accuracy,
    };
  } catch {
    return none;
  }
}

/** Read the EXIF of a File/Blob (its first EXIF_BYTES only). */
export async function readExifOf(file) {
  try {
    return readExif(new Uint8Array(await file.slice(0, EXIF_BYTES).arrayBuffer()));
  } catch {
    return readExif(new Uint8Array(0));
  }
}

/** A photo counts as just taken (so the phone's position now is where it was taken) within this time. */
export const FRESH_MS = 5 * 60 * 1000;

/**
 * The evidence kept with a photo and sent with it: {captured_at, lat, lng, accuracy_m, position_source}.
 * The time is the photo's own (EXIF) when it has one, else the file's time, else now. The position is the
 * photo's own GPS when it has one, else the phone's position at capture time, but only for a photo just
 * taken (a picture picked from the gallery was taken somewhere else).
 * exif: readExif() result; device: {lat, lng, accuracy_m} or null; lastModified, now: ms since epoch.
 */
export function evidenceFor({ exif, device = null, lastModified = null, now = Date.now() }) {
  const e = exif || {};
  const fileTime = Number.isFinite(lastModified) && lastModified > 0 ? lastModified : null;
  const captured = e.captured_at || isoWithOffset(new Date(fileTime ?? now));
  const fresh = fileTime === null || Math.abs(now - fileTime) <= FRESH_MS;
  if (e.lat != null && e.lng != null) {
    return { captured_at: captured, lat: e.lat, lng: e.lng, accuracy_m: e.accuracy_m ?? null, position_source: 'exif' };
  }
  if (device && fresh && device.lat != null && device.lng != null) {
    return { captured_at: captured, lat: device.lat, lng: device.lng, accuracy_m: device.accuracy_m ?? null, position_source: 'device' };
  }
  return { captured_at: captured, lat: null, lng: null, accuracy_m: null, position_source: null };
}

/** The multipart fields sent with PUT /photos/{id}: only those known. */
export function evidenceFields(evidence) {
  const out = {};
  if (!evidence) return out;
  for (const k of ['captured_at', 'lat', 'lng', 'accuracy_m']) {
    if (evidence[k] !== null && evidence[k] !== undefined) out[k] = String(evidence[k]);
  }
  if (out.lat === undefined || out.lng === undefined) {
    delete out.lat;
    delete out.lng;
    delete out.accuracy_m;
  }
  return out;
}
