// When the phone gives up a photo upload: a slow link that keeps sending is never cut off, a stall is.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TIMEOUT_MS, UPLOAD_STALL_MS, uploadLimitMs, uploadStalled } from '../../pwa/js/api.js';

test('an upload that keeps sending is never given up, however long it takes', () => {
  const start = 0;
  // 704 kB at 5 kB/s: progress every second for two and a half minutes.
  for (let t = 1000; t <= 141000; t += 1000) {
    assert.equal(uploadStalled({ now: t, lastProgressAt: t - 1000, sentAt: null }), false);
  }
  assert.equal(uploadStalled({ now: start + 10 * 60 * 1000, lastProgressAt: start + 10 * 60 * 1000 - 5000, sentAt: null }), false);
});

test('an upload with no byte out for the stall limit is given up', () => {
  assert.equal(uploadStalled({ now: UPLOAD_STALL_MS, lastProgressAt: 0, sentAt: null }), false);
  assert.equal(uploadStalled({ now: UPLOAD_STALL_MS + 1, lastProgressAt: 0, sentAt: null }), true);
});

test('once all is handed to the network, the reply is waited for longer the more may still be in flight', () => {
  assert.equal(uploadStalled({ now: 100000 + TIMEOUT_MS, lastProgressAt: 0, sentAt: 100000 }), false);
  assert.equal(uploadStalled({ now: 100001 + TIMEOUT_MS, lastProgressAt: 0, sentAt: 100000 }), true);
  // 700 kB: up to 512 kB may sit in the phone's buffers on a 2 kB/s link, 256 s more.
  const big = { lastProgressAt: 0, sentAt: 0, bytes: 700_000 };
  assert.equal(uploadStalled({ ...big, now: TIMEOUT_MS + 255_000 }), false);
  assert.equal(uploadStalled({ ...big, now: TIMEOUT_MS + 257_000 }), true);
});

test('without progress to watch, the limit grows with the photo', () => {
  assert.equal(uploadLimitMs(100_000), 120000);
  assert.ok(uploadLimitMs(704_000) >= 352_000);
});
