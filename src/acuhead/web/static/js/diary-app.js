// acuhead patient app (issue 14): the outbox. Every quick action on the diary's first screen
// ("Migraine now", how bad, medicine, "it ended") and a day form saved without a connection
// is kept on this phone (IndexedDB) with its own idempotency key before anything is sent,
// then sent in the order it was made: at once, on `online`, and every time the app opens.
// The server stores each key once, so a resend after a lost answer never makes a duplicate.
// A conflict (the record changed elsewhere) is shown for the patient to choose; nothing is
// overwritten without them. Without this file every form still posts normally.
(function () {
  "use strict";

  var DB_NAME = "acuhead-outbox";
  var STORE = "items";
  var flushing = false;

  // ---- IndexedDB, promise-shaped -------------------------------------------------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = window.indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var store = req.result.createObjectStore(STORE, { keyPath: "id" });
        store.createIndex("created", "created");
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function tx(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(result && result.result !== undefined ? result.result : result); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }

  function allItems() {
    return tx("readonly", function (store) { return store.index("created").getAll(); })
      .then(function (items) { return items || []; });
  }
  function putItem(item) { return tx("readwrite", function (store) { store.put(item); }); }
  function deleteItem(id) { return tx("readwrite", function (store) { store["delete"](id); }); }

  // ---- helpers ---------------------------------------------------------------------------
  function newKey() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // Times on the patient's clock (their diary's zone), as the server shows them.
  function hhmm(date) {
    var q = document.querySelector("[data-zone]");
    var zone = q ? q.getAttribute("data-zone") : undefined;
    try {
      return date.toLocaleTimeString("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hour12: false });
    } catch (e) {
      return ("0" + date.getHours()).slice(-2) + ":" + ("0" + date.getMinutes()).slice(-2);
    }
  }

  function quick() { return document.getElementById("quick"); }
  function patientId() {
    var q = document.querySelector("[data-patient]");
    return q ? q.getAttribute("data-patient") : null;
  }
  function panel() { return document.getElementById("ongoing"); }

  var LABELS = {
    now: "Headache started",
    reading: "How bad it was",
    medication: "Medicine taken",
    end: "Headache ended",
    day: "Day entry"
  };

  // ---- what is waiting -------------------------------------------------------------------
  function render() {
    var box = document.getElementById("outbox");
    var list = document.getElementById("outbox-list");
    var banner = document.getElementById("offline-banner");
    if (banner) { banner.hidden = navigator.onLine; }
    if (!box || !list) { return Promise.resolve(); }
    var me = patientId();
    return allItems().then(function (items) {
      items = items.filter(function (i) { return i.patient === me; });
      list.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.setAttribute("data-item", item.id);
        var text = document.createElement("span");
        text.textContent = item.label + " at " + hhmm(new Date(item.created)) +
          (item.state === "waiting" ? " (waiting to be sent)" : "");
        li.appendChild(text);
        if (item.state === "conflict" || item.state === "error") {
          var why = document.createElement("p");
          why.className = "conflict";
          why.textContent = item.state === "conflict"
            ? "Not sent: this was changed somewhere else (another phone or tab) meanwhile. " +
              (item.stored || "") + " Which should stay?"
            : "Not sent: " + (item.detail || "the diary did not accept it") + ".";
          li.appendChild(why);
          var choices = document.createElement("div");
          choices.className = "choices";
          if (item.state === "conflict") {
            choices.appendChild(button("Use mine", "outbox-keep", item.id));
            choices.appendChild(button("Keep what is stored", "outbox-drop", item.id));
          } else {
            choices.appendChild(button("Remove it", "outbox-drop", item.id));
          }
          li.appendChild(choices);
        }
        list.appendChild(li);
      });
      box.hidden = items.length === 0;
    });
  }

  function button(text, action, id) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button secondary " + action;
    b.textContent = text;
    b.setAttribute("data-action", action);
    b.setAttribute("data-id", id);
    return b;
  }

  // ---- sending ---------------------------------------------------------------------------
  function send(item) {
    return fetch(item.url, {
      method: "POST",
      body: item.body,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json"
      }
    });
  }

  var again = false;

  function flush() {
    if (flushing) { again = true; return Promise.resolve(); }
    flushing = true;
    again = false;
    var me = patientId();
    var blocked = {};
    return allItems().then(function (items) {
      items = items.filter(function (i) { return i.patient === me && i.state === "waiting"; });
      var chain = Promise.resolve(true);
      items.forEach(function (item) {
        chain = chain.then(function (go) {
          if (!go) { return false; }
          if (blocked[item.ref]) { return true; }
          return send(item).then(function (response) {
            if (response.redirected || response.status === 401) {
              // The session is gone (expired or revoked, not logged out here): what waits
              // stays, tied to its patient, for after their next login; the kept pages go
              // and the login page replaces this diary, so the next person sees neither.
              sessionGone();
              return false;
            }
            if (response.status === 403) {
              return false; // refused: keep everything, try again later
            }
            return response.json().catch(function () { return {}; }).then(function (answer) {
              if (response.ok) {
                learn(item, answer);
                return deleteItem(item.id).then(function () { return true; });
              }
              if (response.status === 409 || response.status === 428) {
                item.state = "conflict";
                item.current = answer.current_version;
                item.stored = answer.stored || "";
                blocked[item.ref] = true;
                return putItem(item).then(function () { return true; });
              }
              if (response.status === 404 && item.ref && item.ref.indexOf("-") > 0) {
                return true; // the start of this attack is not there yet: keep it waiting
              }
              if (response.status >= 500) { return false; }
              item.state = "error";
              item.detail = answer.detail || ("the diary answered " + response.status);
              blocked[item.ref] = true;
              return putItem(item).then(function () { return true; });
            });
          }, function () {
            return false; // no connection: everything stays, in order
          });
        });
      });
      return chain;
    }).then(function (sent) {
      flushing = false;
      // Made while this round was sending: send it now, in order (unless offline).
      if (again && sent !== false) { return flush(); }
      return render();
    }, function () {
      flushing = false;
      return render();
    });
  }

  var leaving = false;

  function forgetKeptPages() {
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage("forget");
    }
  }

  function sessionGone() {
    if (leaving) { return; }
    leaving = true;
    forgetKeptPages();
    window.location.assign("/login?next=" + encodeURIComponent("/diary"));
  }

  // After a write the server says which version the attack has now; later quick actions on
  // it (queued or not yet made) are based on that version.
  function learn(item, answer) {
    var p = panel();
    if (!p || answer.version === undefined) { return; }
    if (p.getAttribute("data-ref") === item.ref || p.getAttribute("data-ref") === String(answer.attack_id)) {
      var local = parseInt(p.getAttribute("data-version"), 10) || 1;
      if (answer.version > local) { setVersion(answer.version); }
    }
  }

  function setVersion(v) {
    var p = panel();
    if (!p) { return; }
    p.setAttribute("data-version", String(v));
    p.querySelectorAll('input[name="version"]').forEach(function (input) { input.value = String(v); });
  }

  // ---- the quick actions -----------------------------------------------------------------
  var TIME_FIELD = { now: "started", reading: "at", end: "ended", medication: "taken" };

  function showOngoing(ref, started) {
    var p = panel();
    var startForm = document.getElementById("migraine-now");
    if (!p) { return; }
    p.setAttribute("data-ref", ref);
    p.querySelectorAll("form[data-action]").forEach(function (form) {
      form.action = form.getAttribute("data-action").replace("__REF__", encodeURIComponent(ref));
    });
    var start = document.getElementById("ongoing-start");
    if (start) { start.textContent = hhmm(started); }
    setVersion(1);
    p.hidden = false;
    if (startForm) { startForm.hidden = true; }
    document.body.classList.add("attack-mode");
  }

  function note(text) {
    var state = document.getElementById("ongoing-state");
    if (state) { state.textContent = text; }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var kind = form.getAttribute && form.getAttribute("data-queue");
    if (!kind || !window.indexedDB || !patientId()) { return; }
    if (kind === "day" && navigator.onLine) { return; } // online: the form posts as usual
    event.preventDefault();
    var submitter = event.submitter || null;
    var now = new Date();
    var key = newKey();
    var data = new FormData(form);
    if (submitter && submitter.name) { data.set(submitter.name, submitter.value); }
    data.set("idempotency_key", key);
    if (TIME_FIELD[kind]) { data.set(TIME_FIELD[kind], now.toISOString()); }
    var p = panel();
    var ref = kind === "now" ? key : (p ? p.getAttribute("data-ref") : "");
    var url = form.getAttribute("data-action")
      ? form.getAttribute("data-action").replace("__REF__", encodeURIComponent(ref))
      : form.getAttribute("action");
    var label = LABELS[kind] || "Entry";
    if (kind === "reading") { label += ": " + data.get("intensity") + "/10"; }
    if (kind === "medication") { label += ": " + data.get("med_name"); }
    var item = {
      id: key, patient: patientId(), kind: kind, ref: ref, url: url,
      body: new URLSearchParams(data).toString(), label: label,
      created: now.toISOString(), state: "waiting"
    };
    // What the page shows at once, before any answer.
    if (kind === "now") {
      showOngoing(key, now);
      note("");
    } else if (p && kind !== "day") {
      var v = (parseInt(p.getAttribute("data-version"), 10) || 1) + 1;
      if (kind === "reading") { note("Now " + data.get("intensity") + "/10 (" + hhmm(now) + ")."); }
      if (kind === "medication") {
        note("Took " + data.get("med_name") + " at " + hhmm(now) + ".");
        var details = document.getElementById("took-med");
        if (details) { details.open = false; }
      }
      setVersion(v);
      if (kind === "end") {
        p.hidden = true;
        var startForm = document.getElementById("migraine-now");
        if (startForm) { startForm.hidden = false; }
        document.body.classList.remove("attack-mode");
      }
    }
    putItem(item).then(render).then(flush);
  });

  document.addEventListener("click", function (event) {
    var b = event.target.closest ? event.target.closest("[data-action^='outbox-']") : null;
    if (!b) { return; }
    var id = b.getAttribute("data-id");
    allItems().then(function (items) {
      var item = items.filter(function (i) { return i.id === id; })[0];
      if (!item) { return render(); }
      if (b.getAttribute("data-action") === "outbox-drop") {
        return deleteItem(id).then(render).then(flush);
      }
      // "Use mine": send it again based on what is stored now, as the patient chose.
      var params = new URLSearchParams(item.body);
      if (item.current) { params.set("version", String(item.current)); }
      item.body = params.toString();
      item.state = "waiting";
      return putItem(item).then(render).then(flush);
    });
  });

  // Logging out of a shared phone: the kept pages go (what waits to be sent stays, tied to
  // its patient, and is sent after that patient's next login).
  document.addEventListener("submit", function (event) {
    if (event.target.classList && event.target.classList.contains("logout")) { forgetKeptPages(); }
  }, true);

  // The calendar on "My headaches": a day opens that day in the diary, to fill in or correct.
  document.addEventListener("click", function (event) {
    var cell = event.target.closest ? event.target.closest("[data-day-links] [data-date]") : null;
    if (!cell || /cal-future/.test(cell.getAttribute("class") || "")) { return; }
    window.location.href = "/diary?date=" + encodeURIComponent(cell.getAttribute("data-date"));
  });

  window.addEventListener("online", function () { render().then(flush); });
  window.addEventListener("offline", render);

  // Opened again before the outbox was sent (offline, the kept page is older than the tap):
  // the attack started from this phone is shown again from the outbox.
  function restoreOngoing() {
    var p = panel();
    if (!p || !p.hidden) { return Promise.resolve(); }
    var me = patientId();
    return allItems().then(function (items) {
      items = items.filter(function (i) { return i.patient === me; });
      var started = items.filter(function (i) { return i.kind === "now"; }).pop();
      if (!started) { return; }
      var after = items.filter(function (i) { return i.ref === started.ref; });
      if (after.some(function (i) { return i.kind === "end"; })) { return; }
      showOngoing(started.ref, new Date(started.created));
      setVersion(after.length);
    });
  }

  function start() {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/sw.js", { scope: "/diary" })["catch"](function () { return undefined; });
    }
    if (window.indexedDB && patientId()) { restoreOngoing().then(render).then(flush); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
