// acuhead patient app: the service worker (issue 14). Written for this project; served by the
// app at /sw.js, controlling /diary. It keeps the diary pages and their assets so /diary opens
// without a connection. Pages: the network first (always the latest diary), the kept copy
// when there is no connection. Assets: the kept copy first (their URLs carry the version).
// A navigation the server answers with the login (the session expired or was revoked, no
// logout on this phone) drops the kept pages at once: the next person offline finds no diary.
// Writes are never handled here: the page keeps them in its outbox (diary-app.js) and sends
// them itself, so nothing is sent twice or behind the patient's back.
"use strict";

var VERSION = "__VERSION__";
var CACHE = "acuhead-diary-" + VERSION;
var ASSETS = [
  "/static/css/app.css?v=" + VERSION,
  "/static/css/dark.css?v=" + VERSION,
  "/static/js/app.js?v=" + VERSION,
  "/static/js/theme.js?v=" + VERSION,
  "/static/js/diary-app.js?v=" + VERSION,
  "/static/vendor/htmx.min.js?v=2.0.11",
  "/static/favicon.svg",
  "/static/icons/icon-192.png",
  "/static/icons/icon-512.png",
  "/manifest.webmanifest"
];
var PAGES = ["/diary"];

function keepPage(cache, request, response) {
  // Only the diary itself, never a login page that a redirect led to.
  if (response && response.ok && !response.redirected && response.type === "basic") {
    return cache.put(request, response.clone());
  }
  return Promise.resolve();
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(ASSETS).then(function () {
        return Promise.all(PAGES.map(function (url) {
          return fetch(url, { credentials: "same-origin" })
            .then(function (response) { return keepPage(cache, url, response); })
            .catch(function () { return undefined; });
        }));
      });
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) {
        return n.indexOf("acuhead-diary-") === 0 && n !== CACHE;
      }).map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("message", function (event) {
  // The page asks this on logout: a shared phone keeps no one's diary pages.
  if (event.data === "forget") {
    event.waitUntil(caches.delete(CACHE));
  }
});

// The server's way of saying "this session is gone": a page navigation is answered with a
// redirect (to the login page; the diary pages redirect for nothing else) or a 401.
function sessionGone(response) {
  return response.type === "opaqueredirect" || response.redirected || response.status === 401;
}

function isDiaryPage(url) {
  return url.origin === self.location.origin &&
    (url.pathname === "/diary" || url.pathname.indexOf("/diary/") === 0);
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }

  if (request.mode === "navigate" && isDiaryPage(url)) {
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return fetch(request).then(function (response) {
          if (sessionGone(response)) {
            return caches.delete(CACHE).then(function () { return response; });
          }
          return keepPage(cache, request, response).then(function () { return response; });
        }, function () {
          return cache.match(request).then(function (hit) {
            // Offline: this exact page if kept, else the diary's first screen.
            return hit || cache.match("/diary", { ignoreSearch: true }).then(function (first) {
              return first || new Response(
                "<!doctype html><title>Offline</title><p>You are offline and this page was not kept. " +
                "Open the diary once with a connection.</p>",
                { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } }
              );
            });
          });
        });
      })
    );
    return;
  }

  if (url.pathname.indexOf("/static/") === 0 || url.pathname === "/manifest.webmanifest") {
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return cache.match(request).then(function (hit) {
          return hit || fetch(request).then(function (response) {
            if (response.ok) { cache.put(request, response.clone()); }
            return response;
          });
        });
      })
    );
  }
});
