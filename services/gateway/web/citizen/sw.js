// The citizen app's service worker: the app itself and each ticket once opened stay usable offline.
//
// Everything it handles goes to the network first (so nothing stale is shown while online) and falls back
// to the copy it kept; a network that hangs (poor reception at the office) counts as offline after a few
// seconds. It handles only the app's own files, /v1/config, an office, and one's bookings and tickets: every other
// call (booking, cancelling, the calendar) goes straight to the network, never to a copy.

const APP = 'paspor-app-v1';
const TICKETS = 'paspor-tickets'; // personal: cleared when the citizen signs out
const SHELL = [
  '/',
  '/manifest.webmanifest',
  '/static/assets/base.css',
  '/static/assets/icon.svg',
  '/static/assets/i18n.js',
  '/static/assets/api.js',
  '/static/assets/ui.js',
  '/static/assets/oidc.js',
  '/static/messages/common.json',
  '/static/messages/citizen.json',
  '/static/citizen/app.js',
  '/static/citizen/account.js',
  '/static/citizen/offices.js',
  '/static/citizen/booking.js',
  '/static/citizen/ticket.js',
  '/static/citizen/waitlist.js',
  '/v1/config',
];
const KEPT_CALLS = /^\/v1\/(config|offices\/[A-Z0-9-]{2,16}|bookings\/[0-9a-f-]{36}(\/ticket(\.svg)?)?)$/;
const PATIENCE_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(APP).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== APP && n !== TICKETS).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && url.pathname === '/') {
    event.respondWith(networkFirst(request, APP, '/'));
  } else if (url.pathname.startsWith('/static/') || url.pathname === '/manifest.webmanifest') {
    event.respondWith(networkFirst(request, APP));
  } else if (KEPT_CALLS.test(url.pathname) && !url.search) {
    event.respondWith(networkFirst(request, url.pathname.startsWith('/v1/bookings/') ? TICKETS : APP));
  }
});

async function networkFirst(request, cacheName, key = request) {
  const cache = await caches.open(cacheName);
  try {
    const response = await withPatience(fetch(request));
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (offline) {
    const kept = await cache.match(key, { ignoreVary: true });
    if (kept) return kept;
    throw offline;
  }
}

function withPatience(promise) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer in time')), PATIENCE_MS);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
