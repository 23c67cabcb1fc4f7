// IndexedDB access for the page and the service worker.
//
// Rule: a transaction is opened, used synchronously and left to complete. No network (and no await)
// ever happens inside one, because IndexedDB commits a transaction as soon as it has nothing to do.
// `run(stores, mode, fn)` calls fn synchronously with the object stores; fn may return IDBRequests
// (alone, in an array or an object) and the promise resolves with their results once the transaction
// has committed.

export const DB_NAME = 'safegrid';
const DB_VERSION = 1;

export const STORES = ['meta', 'venues', 'checklists', 'kinds', 'findings', 'drafts', 'photos', 'outbox', 'thumbs'];

let dbPromise = null;

function upgrade(db) {
  for (const name of STORES) {
    if (db.objectStoreNames.contains(name)) continue;
    const keyPath = name === 'meta' ? 'key' : name === 'checklists' || name === 'kinds' ? 'code' : 'id';
    db.createObjectStore(name, { keyPath });
  }
}

export function openDb() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => upgrade(req.result);
    req.onsuccess = () => {
      const db = req.result;
      // Another tab or the service worker wants a newer schema, or the database is being deleted.
      db.onversionchange = () => {
        db.close();
        dbPromise = null;
      };
      resolve(db);
    };
    req.onerror = () => {
      dbPromise = null;
      reject(req.error);
    };
    req.onblocked = () => {};
  });
  return dbPromise;
}

function collect(value) {
  if (value instanceof IDBRequest) return value.result;
  if (Array.isArray(value)) return value.map(collect);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = collect(v);
    return out;
  }
  return value;
}

export async function run(stores, mode, fn) {
  const db = await openDb();
  const names = Array.isArray(stores) ? stores : [stores];
  return new Promise((resolve, reject) => {
    let tx;
    try {
      tx = db.transaction(names, mode, { durability: 'strict' });
    } catch (e) {
      reject(e);
      return;
    }
    const handles = {};
    for (const n of names) handles[n] = tx.objectStore(n);
    let ret;
    try {
      ret = fn(handles, tx);
    } catch (e) {
      try {
        tx.abort();
      } catch {
        /* already finished */
      }
      reject(e);
      return;
    }
    tx.oncomplete = () => resolve(collect(ret));
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
  });
}

export const get = (store, key) => run(store, 'readonly', (s) => s[store].get(key));
export const getAll = (store) => run(store, 'readonly', (s) => s[store].getAll());
export const put = (store, value) => run(store, 'readwrite', (s) => void s[store].put(value));
export const del = (store, key) => run(store, 'readwrite', (s) => void s[store].delete(key));

/** Replace the whole content of a reference-data store in one transaction. */
export function replaceAll(store, values) {
  return run(store, 'readwrite', (s) => {
    s[store].clear();
    for (const v of values) s[store].put(v);
  });
}

export async function getMeta(key) {
  const row = await get('meta', key);
  return row ? row.value : undefined;
}

export const setMeta = (key, value) => put('meta', { key, value });

/** Wipe everything on the phone (sign-out). */
export function clearAll() {
  return run(STORES, 'readwrite', (s) => {
    for (const n of STORES) s[n].clear();
  });
}

/**
 * Read-modify-write of one record inside a single transaction (no await inside: fn is synchronous).
 * fn(current) returns the new value, or undefined to leave it.
 */
export function update(store, key, fn) {
  return run(store, 'readwrite', (s) => {
    const out = {};
    const req = s[store].get(key);
    req.onsuccess = () => {
      const next = fn(req.result);
      if (next !== undefined) s[store].put(next);
      out.value = next;
    };
    return out;
  }).then((o) => o.value);
}
