import assert from 'node:assert/strict';
import { test } from 'node:test';

import { exifBlock, isoWithOffset, offsetText, readExif } from '../../pwa/js/exif.js';

// An 8×8 baseline JPEG as Pillow writes it (JFIF APP0, no EXIF): the real bytes a camera file starts from.
const PLAIN_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDLoooriPpj/9k=',
  'base64',
);

/** A TIFF block (the body of an EXIF APP1 segment) with IFD0 → Exif IFD and GPS IFD, in either byte order.
 * ifds: {ifd0: [[tag, type, values]], exif: [...], gps: [...]}; types 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL. */
function tiff(ifds, little) {
  const size = { 2: 1, 3: 2, 4: 4, 5: 8 };
  const order = ['ifd0', 'exif', 'gps'].filter((k) => ifds[k]);
  const entries = (k) => ifds[k].length + (k === 'ifd0' ? order.length - 1 : 0);
  // Layout: header (8), then each IFD (2 + 12n + 4), then every out-of-line value.
  const ifdAt = {};
  let at = 8;
  for (const k of order) {
    ifdAt[k] = at;
    at += 2 + 12 * entries(k) + 4;
  }
  const buf = new DataView(new ArrayBuffer(at + 4096));
  const u8 = new Uint8Array(buf.buffer);
  buf.setUint16(0, little ? 0x4949 : 0x4d4d);
  buf.setUint16(2, 42, little);
  buf.setUint32(4, 8, little);
  let data = at;
  const write = (pos, type, values) => {
    values.forEach((v, i) => {
      if (type === 2) u8[pos + i] = v;
      else if (type === 3) buf.setUint16(pos + i * 2, v, little);
      else if (type === 4) buf.setUint32(pos + i * 4, v, little);
      else if (type === 5) {
        buf.setUint32(pos + i * 8, v[0], little);
        buf.setUint32(pos + i * 8 + 4, v[1], little);
      }
    });
  };
  for (const k of order) {
    const list = [...ifds[k]];
    if (k === 'ifd0') {
      if (ifds.exif) list.push([0x8769, 4, [ifdAt.exif]]);
      if (ifds.gps) list.push([0x8825, 4, [ifdAt.gps]]);
    }
    list.sort((a, b) => a[0] - b[0]);
    const base = ifdAt[k];
    buf.setUint16(base, list.length, little);
    list.forEach(([tag, type, raw], n) => {
      const values = type === 2 ? [...Buffer.from(`${raw}\0`, 'latin1')] : raw;
      const e = base + 2 + n * 12;
      buf.setUint16(e, tag, little);
      buf.setUint16(e + 2, type, little);
      buf.setUint32(e + 4, values.length, little);
      const bytes = size[type] * values.length;
      if (bytes <= 4) write(e + 8, type, values);
      else {
        buf.setUint32(e + 8, data, little);
        write(data, type, values);
        data += bytes + (bytes % 2);
      }
    });
    buf.setUint32(base + 2 + list.length * 12, 0, little);
  }
  return u8.subarray(0, data);
}

/** The plain JPEG with an EXIF APP1 segment right after its SOI, as a camera writes it. */
function withExif(tiffBytes) {
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), Buffer.from(tiffBytes)]);
  const head = Buffer.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff]);
  return new Uint8Array(Buffer.concat([PLAIN_JPEG.subarray(0, 2), head, body, PLAIN_JPEG.subarray(2)]));
}

const dms = (deg, min, sec) => [[deg, 1], [min, 1], [Math.round(sec * 100), 100]];
const shanghai = () => 480; // a phone in Asia/Shanghai (UTC+8, no DST)

const camera = {
  ifd0: [[0x010f, 2, 'Xiaomi'], [0x0110, 2, 'Redmi 9A'], [0x0132, 2, '2026:11:30 10:00:00']],
  exif: [[0x9003, 2, '2026:11:30 09:41:07']],
  gps: [
    [0x0001, 2, 'N'],
    [0x0002, 5, dms(31, 24, 7.56)],
    [0x0003, 2, 'E'],
    [0x0004, 5, dms(109, 38, 0.6)],
    [0x001f, 5, [[125, 10]]],
  ],
};

test('the plain JPEG is a JPEG and has no EXIF', () => {
  assert.deepEqual([...PLAIN_JPEG.subarray(0, 2)], [0xff, 0xd8]);
  assert.deepEqual([...PLAIN_JPEG.subarray(-2)], [0xff, 0xd9]);
  assert.equal(exifBlock(PLAIN_JPEG), null);
  assert.deepEqual(readExif(PLAIN_JPEG), { captured_at: null, lat: null, lng: null, accuracy_m: null });
});

for (const little of [true, false]) {
  test(`capture time and GPS from a camera's EXIF (${little ? 'Intel' : 'Motorola'} byte order)`, () => {
    const got = readExif(withExif(tiff(camera, little)), { zoneOffset: shanghai });
    assert.equal(got.captured_at, '2026-11-30T09:41:07+08:00');
    assert.ok(Math.abs(got.lat - (31 + 24 / 60 + 7.56 / 3600)) < 1e-6, got.lat);
    assert.ok(Math.abs(got.lng - (109 + 38 / 60 + 0.6 / 3600)) < 1e-6, got.lng);
    assert.equal(got.accuracy_m, 12.5);
  });
}

test('the offset the camera recorded wins; south and west are negative', () => {
  const tags = {
    ifd0: [],
    exif: [[0x9003, 2, '2026:07:01 18:00:00'], [0x9011, 2, '-03:00']],
    gps: [[0x0001, 2, 'S'], [0x0002, 5, dms(23, 30, 0)], [0x0003, 2, 'W'], [0x0004, 5, dms(46, 37, 30)]],
  };
  const got = readExif(withExif(tiff(tags, true)), { zoneOffset: shanghai });
  assert.equal(got.captured_at, '2026-07-01T18:00:00-03:00');
  assert.equal(got.lat, -23.5);
  assert.equal(got.lng, -46.625);
  assert.equal(got.accuracy_m, null);
});

test('without a recorded offset the GPS time (UTC) is used before the phone time zone', () => {
  const tags = {
    ifd0: [],
    exif: [[0x9003, 2, '2026:11:30 09:41:07']],
    gps: [[0x0007, 5, [[1, 1], [41, 1], [700, 100]]], [0x001d, 2, '2026:11:30']],
  };
  assert.equal(readExif(withExif(tiff(tags, false))).captured_at, '2026-11-30T01:41:07+00:00');
});

test('a photo with only IFD0 DateTime and no GPS gives the time alone', () => {
  const got = readExif(withExif(tiff({ ifd0: [[0x0132, 2, '2026:11:30 08:00:00']] }, true)), { zoneOffset: shanghai });
  assert.deepEqual(got, { captured_at: '2026-11-30T08:00:00+08:00', lat: null, lng: null, accuracy_m: null });
});

test('0,0 (no fix), blank dates and damaged files give nulls, never an exception', () => {
  const zero = { ifd0: [[0x0132, 2, '0000:00:00 00:00:00']], gps: [[0x0001, 2, 'N'], [0x0002, 5, dms(0, 0, 0)], [0x0003, 2, 'E'], [0x0004, 5, dms(0, 0, 0)]] };
  assert.deepEqual(readExif(withExif(tiff(zero, true))), { captured_at: null, lat: null, lng: null, accuracy_m: null });
  const good = withExif(tiff(camera, true));
  for (const cut of [3, 10, 30, 60, 120]) {
    assert.doesNotThrow(() => readExif(good.subarray(0, cut)));
  }
  const garbled = good.slice();
  garbled.fill(0xaa, 24, 60);
  assert.doesNotThrow(() => readExif(garbled));
  assert.equal(readExif(new Uint8Array([1, 2, 3])).lat, null);
  assert.equal(readExif(new ArrayBuffer(0)).captured_at, null);
});

test('times carry the offset of the zone they are read in', () => {
  assert.equal(offsetText(480), '+08:00');
  assert.equal(offsetText(-210), '-03:30');
  assert.match(isoWithOffset(new Date('2026-11-30T01:00:00Z')), /^2026-11-30T\d{2}:\d{2}:00[+-]\d{2}:\d{2}$/);
});

test('evidence: the photo own time and GPS first, the phone position only for a photo just taken', async () => {
  const { evidenceFor, evidenceFields, FRESH_MS } = await import('../../pwa/js/exif.js');
  const now = Date.parse('2026-11-30T02:00:00Z');
  const device = { lat: 31.4, lng: 109.6, accuracy_m: 8 };
  const own = { captured_at: '2026-11-30T09:41:07+08:00', lat: 31.41, lng: 109.63, accuracy_m: 12.5 };
  assert.deepEqual(evidenceFor({ exif: own, device, lastModified: now, now }), { ...own, position_source: 'exif' });
  const camera = evidenceFor({ exif: { captured_at: own.captured_at, lat: null, lng: null }, device, lastModified: now - 1000, now });
  assert.deepEqual([camera.lat, camera.lng, camera.accuracy_m, camera.position_source], [31.4, 109.6, 8, 'device']);
  const gallery = evidenceFor({ exif: null, device, lastModified: now - FRESH_MS - 1, now });
  assert.equal(gallery.lat, null);
  assert.equal(Date.parse(gallery.captured_at), now - FRESH_MS - 1 - ((now - FRESH_MS - 1) % 1000));
  assert.deepEqual(evidenceFields(camera), { captured_at: own.captured_at, lat: '31.4', lng: '109.6', accuracy_m: '8' });
  assert.deepEqual(evidenceFields(gallery), { captured_at: gallery.captured_at });
  assert.deepEqual(evidenceFields(null), {});
});
