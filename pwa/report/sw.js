// Service worker of the public report page, scope "/report" (its own; the inspector app's worker at "/"
// leaves /report alone). It keeps the page, its two files and the list of categories, so that the page
// opens with no network after a first visit; reports typed offline stay in IndexedDB as drafts and are
// sent when the network returns (report/app.js).
//
// Nothing else is kept: no report, no photo, no receipt, no status lookup ever goes into a cache.
// Every request is tried on the network first (fresh when online), and the cached copy answers only
// when the network fails or is too slow.

const CACHE = 'safegrid-report-v1';
const SHELL = ['/report', '/report/status', '/report/app.js', '/report/report.css', '/api/v1/public/report-categories'];
const SHELL_SET = new Set(SHELL);
const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'no-store', credentials: 'omit' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith('safegrid-report-') && n !== CACHE).map((n) => caches.delete(n)));
      await self.clients.claim();
    })(),
  );
});

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), NETWORK_TIMEOUT_MS);
  try {
    const res = await fetch(request, { signal: ctl.signal, credentials: 'omit' });
    if (res.ok) await cache.put(key, res.clone());
    return res;
  } catch (e) {
    const hit = await cache.match(key);
    if (hit) return hit;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  const key = url.pathname.replace(/\/$/, '') || '/';
  if (!SHELL_SET.has(key)) return;
  event.respondWith(networkFirst(req, key));
});
