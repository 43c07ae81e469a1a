/* clubfund: the meeting page without signal. Records are kept in IndexedDB (each with a
   key made here, which the service takes as its Idempotency-Key) until the service has
   answered for them; waiting records are sent as one batch when the signal returns or
   on "Gửi ngay". Refused records stay, with the service's reason, to fix or drop.
   Each record keeps who made it (person and club, with her name): the page shows and
   sends only the signed-in person's records of the club, counts another person's by name
   and leaves them as they are, and asks before signing out with records not yet sent. */
"use strict";
(function () {
  var root = document.getElementById("meeting");
  if (!root) { return; }
  var words = JSON.parse(document.getElementById("meeting-words").textContent);
  var clubId = root.dataset.club;
  var batchPath = root.dataset.batch;
  var language = root.dataset.language;
  var personId = root.dataset.person;
  var personName = root.dataset.personName;
  var DATABASE = "clubfund-meeting";
  var STORE = "records";
  var QUEUE_COUNT_MAX = 500;
  var SEND_COUNT_MAX = 200;
  var AMOUNT_DIGITS_MAX = 15;
  var sending = false;
  var fixing = null;

  function say(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, name) { return String(values[name]); });
  }
  function byId(id) { return document.getElementById(id); }

  /* ---- the phone's store: one object store, a record per key */
  function openStore() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DATABASE, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function inStore(mode, work) {
    return openStore().then(function (db) {
      return new Promise(function (resolve, reject) {
        // "strict": written to disk before it counts as kept (a phone may be switched off).
        var transaction = db.transaction(STORE, mode, { durability: "strict" });
        var result = work(transaction.objectStore(STORE));
        transaction.oncomplete = function () { db.close(); resolve(result && result.result); };
        transaction.onerror = function () { db.close(); reject(transaction.error); };
        transaction.onabort = function () { db.close(); reject(transaction.error); };
      });
    });
  }
  /* The club's records on this phone: [hers, another person's]. A record kept before
     records carried their person is the signed-in person's (as it always was). */
  function clubRecords() {
    return inStore("readonly", function (store) { return store.getAll(); }).then(function (all) {
      var mine = [], others = [];
      (all || []).filter(function (r) { return r.club_id === clubId; })
        .sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; })
        .forEach(function (r) {
          (!r.person_id || r.person_id === personId ? mine : others).push(r);
        });
      return [mine, others];
    });
  }
  function allRecords() {
    return clubRecords().then(function (both) { return both[0]; });
  }
  function keep(records) {
    return inStore("readwrite", function (store) { records.forEach(function (r) { store.put(r); }); });
  }
  function forget(keys) {
    return inStore("readwrite", function (store) { keys.forEach(function (k) { store.delete(k); }); });
  }

  /* ---- typed input */
  function amountOf(text) {
    var digits = text.replace(/[\s.,₫đ]/g, "");
    if (!/^[0-9]+$/.test(digits) || digits.length > AMOUNT_DIGITS_MAX || Number(digits) <= 0) {
      return null;
    }
    return Number(digits);
  }
  function dateOf(text) {
    var found = /^(\d{1,2})[\/.\-](\d{1,2})[\/.\-](\d{4})$/.exec(text.trim());
    if (!found) { return null; }
    var day = Number(found[1]), month = Number(found[2]), year = Number(found[3]);
    var check = new Date(Date.UTC(year, month - 1, day));
    if (year < 1900 || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
      return null;
    }
    return year + "-" + String(month).padStart(2, "0") + "-" + String(day).padStart(2, "0");
  }
  function money(amount) {
    return String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, ".") + " ₫";
  }
  function dayText(iso) {
    var parts = iso.split("-");
    return parts[2] + "/" + parts[1] + "/" + parts[0];
  }
  function todayInVietNam() {
    var parts = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh",
      day: "2-digit", month: "2-digit", year: "numeric" }).format(new Date());
    return parts;
  }
  function showProblem(name, text) {
    var problem = byId(name + "-problem");
    var input = byId(name);
    problem.textContent = text || "";
    problem.hidden = !text;
    if (text) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
  }
  function newKey() { return "meeting-" + crypto.randomUUID(); }

  /* ---- recording */
  function record(event) {
    event.preventDefault();
    var choice = byId("what").selectedOptions[0];
    var amount = amountOf(byId("amount").value);
    var effectiveDate = dateOf(byId("effective_date").value);
    showProblem("amount", amount === null ? words.amount_wrong : "");
    showProblem("effective_date", effectiveDate === null ? words.date_wrong : "");
    if (!choice || amount === null || effectiveDate === null) {
      (amount === null ? byId("amount") : byId("effective_date")).focus();
      return;
    }
    var parts = choice.value.split(":");
    var name = choice.dataset.name;
    var item = { key: newKey(), club_id: clubId, person_id: personId,
                 person_name: personName, state: "waiting", name: name,
                 created_at: new Date().toISOString(), op: parts[0] };
    if (parts[0] === "repayment") {
      item.loan_id = parts[1];
      item.label = choice.textContent.trim();
      item.body = { amount: amount, effective_date: effectiveDate, payment_method: "cash" };
    } else {
      item.loan_id = null;
      item.label = words.contribution + " – " + name;
      item.body = { amount: amount, effective_date: effectiveDate, payment_method: "cash",
                    source: "members", member_id: choice.dataset.member, counterparty: name,
                    description: say(words.contribution_description, { name: name }) };
    }
    item.choice = choice.value;
    allRecords().then(function (records) {
      if (records.length >= QUEUE_COUNT_MAX) { throw new Error(words.queue_full); }
      return keep([item]);
    }).then(function () {
      var replaced = fixing;
      fixing = null;
      return replaced ? forget([replaced]) : null;
    }).then(function () {
      byId("amount").value = "";
      byId("outcome").textContent = say(words.kept, { what: item.label + ", " + money(amount) });
      return show();
    }).catch(function (error) {
      byId("outcome").textContent = say(words.storage_failed, { reason: error.message });
    });
  }

  /* ---- the queue on screen */
  function line(item) {
    var li = document.createElement("li");
    li.className = item.state;
    var what = document.createElement("span");
    what.className = "what";
    what.textContent = item.label + " · " + money(item.body.amount) + " · " +
      dayText(item.body.effective_date);
    var state = document.createElement("strong");
    state.className = "state";
    state.textContent = item.state === "refused" ? words.refused : words.waiting;
    li.appendChild(what);
    li.appendChild(state);
    if (item.state === "refused") {
      var reason = document.createElement("span");
      reason.className = "reason";
      reason.textContent = item.reason;
      li.appendChild(reason);
      var actions = document.createElement("span");
      actions.className = "actions";
      actions.appendChild(button(words.fix, "secondary", function () { fix(item); }));
      actions.appendChild(button(words.drop, "secondary", function () {
        if (window.confirm(words.confirm_drop)) { forget([item.key]).then(show); }
      }));
      li.appendChild(actions);
    }
    return li;
  }
  function button(text, kind, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = kind;
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }
  function fix(item) {
    fixing = item.key;
    byId("what").value = item.choice;
    byId("amount").value = String(item.body.amount);
    byId("effective_date").value = dayText(item.body.effective_date);
    byId("outcome").textContent = words.fixing;
    byId("amount").focus();
  }
  function show() {
    return clubRecords().then(function (both) {
      var records = both[0], others = both[1];
      var list = byId("queue");
      list.textContent = "";
      records.forEach(function (r) { list.appendChild(line(r)); });
      byId("waiting-count").textContent = String(
        records.filter(function (r) { return r.state === "waiting"; }).length);
      var names = [];
      others.forEach(function (r) {
        if (names.indexOf(r.person_name) < 0) { names.push(r.person_name); }
      });
      byId("others").hidden = !others.length;
      byId("others").textContent = others.length ?
        say(words.others, { count: others.length, names: names.join(", ") }) : "";
      return records.length;
    });
  }
  /* A phone may say it is online while nothing gets through (a weak signal, a network
     with no way out): a send that fails on the way marks the page offline until the
     next answer or the next "online" event, and the page tries again by itself a little
     later (the phone may never say "online" again, as it never said "offline"). */
  var unreachable = false;
  var RETRY_SECONDS = 10;  // after a failed send, while the phone still says it is online
  var retry = null;
  function showConnection() {
    var online = navigator.onLine && !unreachable;
    byId("connection").textContent = online ? words.online : words.offline;
    byId("connection").className = "connection " + (online ? "online" : "offline");
  }
  function markReachable(reachable) {
    unreachable = !reachable;
    showConnection();
    if (retry !== null) { clearTimeout(retry); retry = null; }
    if (unreachable) {
      retry = setTimeout(function () { retry = null; send(true); }, RETRY_SECONDS * 1000);
    }
  }

  /* ---- sending */
  function formToken() {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }
  function post(items) {
    return fetch(batchPath, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "Accept-Language": language,
                 "X-CSRF-Token": formToken() },
      body: JSON.stringify({ batch_key: newKey(), items: items.map(function (r) {
        return { key: r.key, op: r.op, loan_id: r.loan_id, body: r.body };
      }) }),
    });
  }
  /* The page kept offline may hold the form token of a session since renewed: take the
     current one from the page fetched afresh, once. */
  function freshFormToken() {
    return fetch(location.pathname, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok || response.redirected) { return false; }
        return response.text().then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html")
            .querySelector("input[name=csrf_token]");
          if (!fresh || fresh.value === formToken()) { return false; }
          document.querySelectorAll("input[name=csrf_token]").forEach(function (field) {
            field.value = fresh.value;
          });
          return true;
        });
      }).catch(function () { return false; });
  }
  function postWithToken(items) {
    return post(items).then(function (response) {
      if (response.status !== 403) { return response; }
      return freshFormToken().then(function (renewed) {
        return renewed ? post(items) : response;
      });
    });
  }
  function reasonOf(problem) {
    if (!problem) { return ""; }
    return problem.detail || problem.title || "";
  }
  function send(quiet) {
    if (sending) { return Promise.resolve(); }
    var outcome = byId("outcome");
    var more = false;  // a full send was answered: the rest of the queue goes next
    return allRecords().then(function (records) {
      var waiting = records.filter(function (r) { return r.state === "waiting"; })
        .slice(0, SEND_COUNT_MAX);
      if (!waiting.length) {
        if (quiet !== true) { outcome.textContent = words.nothing; }
        return null;
      }
      if (!navigator.onLine) {
        outcome.textContent = say(words.not_sent, { reason: words.no_connection });
        return null;
      }
      sending = true;
      outcome.textContent = words.sending;
      return postWithToken(waiting).then(function (response) {
        markReachable(true);
        return response.json().catch(function () { return null; }).then(function (body) {
          return answered(waiting, response.status, body).then(function (done) {
            more = done && waiting.length === SEND_COUNT_MAX;
          });
        });
      }, function () {
        markReachable(false);
        outcome.textContent = say(words.not_sent, { reason: words.no_connection });
      });
    }).catch(function (error) {
      outcome.textContent = say(words.not_sent, { reason: error.message });
    }).then(function () {
      sending = false;
      return show();
    }).then(function () { return more ? send(true) : null; });
  }
  function answered(waiting, status, body) {
    var outcome = byId("outcome");
    if (status === 401) {
      outcome.textContent = words.sign_in_again;
      return Promise.resolve(false);
    }
    if (status !== 200 || !body || !body.items) {
      outcome.textContent = say(words.not_sent, { reason: reasonOf(body) || status });
      return Promise.resolve(false);
    }
    var byKey = {};
    waiting.forEach(function (r) { byKey[r.key] = r; });
    var done = [], refused = [];
    body.items.forEach(function (answer) {
      var item = byKey[answer.key];
      if (!item) { return; }
      if (answer.status < 300) { done.push(answer.key); return; }
      item.state = "refused";
      item.reason = reasonOf(answer.problem);
      item.code = answer.problem ? answer.problem.code : "";
      refused.push(item);
    });
    // The queue and its count are redrawn before the outcome is said, so that the page
    // never says "sent" beside records still counted as waiting.
    return keep(refused).then(function () { return forget(done); }).then(show).then(function () {
      outcome.textContent = refused.length ?
        say(words.sent_refused, { sent: done.length, refused: refused.length }) :
        say(words.sent, { sent: done.length });
      return true;
    });
  }

  /* ---- signing out: asked once when her records are not all sent; the page kept for
     offline use is dropped (it names her), the records stay */
  var warned = false;
  function signOut(event) {
    var form = event.target;
    event.preventDefault();
    allRecords().then(function (records) {
      if (records.length && !warned) {
        warned = true;
        var warning = byId("sign-out-warning");
        warning.textContent = say(words.sign_out_waiting, { count: records.length });
        warning.hidden = false;
        warning.focus();
        return null;
      }
      var dropped = window.caches ? caches.keys().then(function (names) {
        return Promise.all(names.map(function (name) {
          return caches.open(name).then(function (cache) { return cache.delete(location.pathname); });
        }));
      }) : Promise.resolve();
      return dropped.catch(function () { return null; }).then(function () { form.submit(); });
    }).catch(function () { form.submit(); });
  }

  /* ---- start */
  document.querySelectorAll("form[action='/sign-out']").forEach(function (form) {
    form.addEventListener("submit", signOut);
  });
  byId("effective_date").value = todayInVietNam();
  byId("record").addEventListener("submit", record);
  byId("send-now").addEventListener("click", function () { send(false); });
  window.addEventListener("online", function () { markReachable(true); send(true); });
  window.addEventListener("offline", showConnection);
  showConnection();
  if (navigator.storage && navigator.storage.persist) { navigator.storage.persist(); }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/meeting-worker.js", { scope: location.pathname });
  }
  show().then(function () { return navigator.onLine ? send(true) : null; });
}());
