// The app's service worker: the shell (pages, script, styles, the
// transaction module) is kept so the app opens without a connection; API
// calls always go to the network (the app's own queue handles being offline).
const CACHE = "filiera-app-v1";
const SHELL = ["./", "index.html", "app.js", "i18n.js", "app.css", "tx.wasm", "manifest.webmanifest", "icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith(new URL("./", self.location).pathname)) return;
  // The node's answers are never kept: only the app's own files.
  if (/^\/(v1|01|qr|epcis)\//.test(url.pathname)) return;
  // Network first, so a new version is seen at once; the cache when offline.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((c) => c.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true })),
  );
});
