import assert from 'node:assert/strict';
import { test } from 'node:test';

import { downscaleSteps, fitWithin, formatBytes, orientedSize } from '../../pwa/js/imagemath.js';

test('a 4000×3000 camera photo becomes 1600×1200', () => {
  assert.deepEqual(fitWithin(4000, 3000), { width: 1600, height: 1200, scale: 0.4 });
});

test('portrait keeps its aspect ratio', () => {
  const r = fitWithin(3000, 4000);
  assert.equal(r.height, 1600);
  assert.equal(r.width, 1200);
});

test('small images are never enlarged', () => {
  assert.deepEqual(fitWithin(800, 600), { width: 800, height: 600, scale: 1 });
  assert.deepEqual(fitWithin(1600, 900), { width: 1600, height: 900, scale: 1 });
});

test('extreme shapes keep at least one pixel and the long side at the limit', () => {
  const r = fitWithin(20000, 10);
  assert.equal(r.width, 1600);
  assert.equal(r.height, 1);
  const s = fitWithin(4032, 3024, 1600);
  assert.equal(s.width, 1600);
  assert.equal(s.height, 1200);
  assert.deepEqual(fitWithin(0, 0), { width: 1, height: 1, scale: 1 });
  const sq = fitWithin(5000, 5000);
  assert.deepEqual([sq.width, sq.height], [1600, 1600]);
});

test('EXIF orientations 5–8 swap the sides', () => {
  assert.deepEqual(orientedSize(4000, 3000, 6), { width: 3000, height: 4000 });
  assert.deepEqual(orientedSize(4000, 3000, 3), { width: 4000, height: 3000 });
});

test('downscale halves until close, then lands on the target', () => {
  const steps = downscaleSteps({ width: 4000, height: 3000 }, { width: 1600, height: 1200 });
  assert.deepEqual(steps, [{ width: 2000, height: 1500 }, { width: 1600, height: 1200 }]);
});

test('formatBytes', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(2048), '2.0 KB');
  assert.equal(formatBytes(300 * 1024), '300 KB');
  assert.equal(formatBytes(5 * 1024 * 1024), '5.0 MB');
});
