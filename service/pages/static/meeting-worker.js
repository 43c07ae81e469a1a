/* clubfund: the meeting page's service worker. Registered with the page's own path as
   its scope, it keeps the page, its style sheet and its script. Each is fetched from the
   service when there is signal (and the copy renewed); without signal the copy is
   served. Nothing else passes through it: the queue is sent by the page itself. */
"use strict";
var CACHE = "clubfund-meeting-1";
var ASSETS = ["/pages/style.css", "/pages/meeting.js"];
var NETWORK_SECONDS_MAX = 8;

function pagePath() { return new URL(self.registration.scope).pathname; }

function keepIfGood(cache, key, response) {
  // A redirect (to the sign-in page) or an error is never kept as the meeting page.
  if (response.ok && !response.redirected && response.type === "basic") {
    return cache.put(key, response.clone()).then(function () { return response; });
  }
  return Promise.resolve(response);
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all([
      cache.addAll(ASSETS),
      fetch(pagePath(), { credentials: "same-origin" })
        .then(function (response) { return keepIfGood(cache, pagePath(), response); })
        .catch(function () { return null; }),
    ]);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function withinTime(promise) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("slow")); },
                           NETWORK_SECONDS_MAX * 1000);
    promise.then(function (r) { clearTimeout(timer); resolve(r); },
                 function (e) { clearTimeout(timer); reject(e); });
  });
}

function networkFirst(request, key) {
  return caches.open(CACHE).then(function (cache) {
    return withinTime(fetch(request)).then(function (response) {
      return keepIfGood(cache, key, response);
    }).catch(function () {
      return cache.match(key).then(function (kept) { return kept || Response.error(); });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname === pagePath()) {
    event.respondWith(networkFirst(request, pagePath()));
  } else if (ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});
