// The service worker must precache every file of the app shell, or the app breaks offline.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const pwa = fileURLToPath(new URL('../../pwa/', import.meta.url));
const sw = readFileSync(join(pwa, 'sw.js'), 'utf8');
const shell = JSON.parse(
  sw.match(/const SHELL = (\[[\s\S]*?\]);/)[1].replace(/'/g, '"').replace(/,\s*]/, ']'),
);

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

test('every app file is in the precache list, and nothing else', () => {
  const files = walk(pwa)
    .map((p) => `/${relative(pwa, p).split('\\').join('/')}`)
    // The report page and the console are pages of their own, outside the inspector app's shell.
    .filter((p) => !p.startsWith('/report') && !p.startsWith('/console/') && p !== '/sw.js')
    .map((p) => (p === '/index.html' ? '/' : p));
  const expected = new Set(files);
  assert.deepEqual([...new Set(shell)].sort(), [...expected].sort());
});

test('the app directory holds only what it serves (the package.json for the unit tests is at the root)', () => {
  const tooling = walk(pwa).filter((p) => /(^|[\\/])(package(-lock)?\.json|node_modules)([\\/]|$)/.test(relative(pwa, p)));
  assert.deepEqual(tooling, []);
});

test('the shell is versioned and the page only uses relative module imports', () => {
  // The server replaces the placeholder with a hash of the shell's content (api/pwa.py).
  assert.match(sw, /const VERSION = 'safegrid-shell-CONTENT_HASH'/);
  for (const f of walk(join(pwa, 'js'))) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/^import .* from '([^']+)'/gm)) assert.ok(m[1].startsWith('.'), `${f}: ${m[1]}`);
    assert.ok(!/https?:\/\/(?!localhost)/.test(src.replace(/\/\/.*$/gm, '')), `${f} makes a third-party request`);
  }
});

test('index.html is Chinese and loads nothing from elsewhere', () => {
  const html = readFileSync(join(pwa, 'index.html'), 'utf8');
  assert.match(html, /<html lang="zh-CN">/);
  assert.ok(!/(src|href)="https?:/.test(html));
});

test('manifest', () => {
  const m = JSON.parse(readFileSync(join(pwa, 'manifest.webmanifest'), 'utf8'));
  assert.equal(m.name, '安格 SafeGrid');
  assert.equal(m.start_url, '/');
  assert.equal(m.display, 'standalone');
  assert.ok(m.theme_color);
  const sizes = m.icons.map((i) => `${i.sizes}:${i.purpose}`);
  assert.ok(sizes.includes('192x192:any') && sizes.includes('512x512:any') && sizes.includes('512x512:maskable'));
});
