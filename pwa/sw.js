// Service worker of the inspector app (a module worker, scope "/").
// - install: the whole app shell is cached under a versioned name; the new version waits until the
//   inspector agrees to update (the page asks with {type: 'skip-waiting'}), never mid-checklist.
// - fetch: the shell comes from the cache (the app opens with no network); the API, /report and /docs
//   go to the network untouched.
// - sync: Background Sync drains the outbox (in the page when one is open, so it can show progress).

import { drain, wakeAll } from './js/sync.js';

// The server puts a hash of this file and of every file in SHELL here when it serves the worker
// (api/pwa.py): any change to the shell is a new version, and nobody bumps a number by hand.
const VERSION = 'safegrid-shell-CONTENT_HASH';

const SHELL = [
  '/',
  '/manifest.webmanifest',
  '/css/app.css',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/icon-maskable-512.png',
  '/js/api.js',
  '/js/app.js',
  '/js/data.js',
  '/js/db.js',
  '/js/drafts.js',
  '/js/exif.js',
  '/js/form.js',
  '/js/format.js',
  '/js/image.js',
  '/js/imagemath.js',
  '/js/outbox.js',
  '/js/sync.js',
  '/js/ui.js',
  '/js/views/findings.js',
  '/js/views/inspect.js',
  '/js/views/login.js',
  '/js/views/sync.js',
  '/js/views/today.js',
];

const SHELL_SET = new Set(SHELL);
// Pages of this origin that are not the inspector app.
const OTHER_PAGES = /^\/(api|report|console|docs|redoc|openapi\.json)(\/|$|\.)/;

// The console imports a few of the app's modules (/js/ui.js, /js/format.js, /js/image.js, /js/exif.js); it
// must get them as the server has them now, not as this worker cached them for an app that may still wait
// to update.
async function forOtherPage(event) {
  const client = event.clientId ? await self.clients.get(event.clientId) : null;
  return Boolean(client && OTHER_PAGES.test(new URL(client.url).pathname));
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(VERSION).then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'no-cache' })))),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith('safegrid-shell-') && n !== VERSION).map((n) => caches.delete(n)));
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skip-waiting') self.skipWaiting();
});

async function fromCache(key, request) {
  const cache = await caches.open(VERSION);
  const hit = await cache.match(key, { ignoreSearch: true });
  if (hit) return hit;
  return fetch(request);
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || OTHER_PAGES.test(url.pathname)) return;
  if (req.mode === 'navigate') {
    // Any page of the app (deep links use #/…): the cached shell.
    if (url.pathname === '/' || url.pathname === '/index.html') event.respondWith(fromCache('/', req));
    return;
  }
  if (SHELL_SET.has(url.pathname)) {
    event.respondWith(forOtherPage(event).then((other) => (other ? fetch(req) : fromCache(url.pathname, req))));
  }
});

async function onSync() {
  const wins = await self.clients.matchAll({ type: 'window' });
  const visible = wins.find((c) => c.visibilityState === 'visible');
  if (visible) {
    visible.postMessage({ type: 'drain' });
    return;
  }
  await wakeAll();
  const s = await drain();
  if (s.waiting - s.attention - s.auth > 0) throw new Error('outbox not empty yet'); // the browser retries later
}

self.addEventListener('sync', (event) => {
  if (event.tag === 'safegrid-outbox') event.waitUntil(onSync());
});
