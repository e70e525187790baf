// The split inbox (docs/workspace.md): the list and the chosen conversation side by side from 1,024 px,
// alerts (sound, browser notification, title count) for what is new, unread announcements, focus kept
// across live refreshes and keyboard shortcuts. Everything works without this file: plain links and posts.
(function () {
  "use strict";

  var WIDE = window.matchMedia("(min-width: 1024px)");
  var TICKET_PATH = /^\/tickets\/([0-9a-f-]{36})\/$/;
  var STORE = "iaze.alerted";
  var STORE_CAP = 400;

  // The hook tests (and anyone curious) read: every alert raised, in order.
  window.iazeAlerts = window.iazeAlerts || [];

  function pane() { return document.getElementById("conversation-pane"); }
  function queueLive() { return document.getElementById("queue-live"); }
  function split() { return WIDE.matches && !!pane() && !!document.querySelector("[data-inbox] .inbox-list"); }
  function openTicketId() {
    var m = TICKET_PATH.exec(location.pathname);
    return m ? m[1] : "";
  }

  // --- the split inbox: choosing a ticket swaps only the right pane and updates the URL ----------

  var placeholder = null;

  function markSelected() {
    var id = openTicketId();
    document.querySelectorAll(".ticket-row").forEach(function (row) {
      if (row.dataset.ticket === id) { row.setAttribute("aria-current", "true"); }
      else { row.removeAttribute("aria-current"); }
    });
  }

  // Every pane load starts from this element, whose hx-sync makes the latest load replace one still in
  // flight. Without it htmx queues a second load from <body> and resolves its promise at once: Assumir
  // pressed while the pane was still loading focused nothing, and the queued load came after.
  var loader = null;
  function paneLoader() {
    if (!loader || !document.body.contains(loader)) {
      loader = document.createElement("span");
      loader.hidden = true;
      loader.setAttribute("hx-sync", "this:replace");
      document.body.appendChild(loader);
    }
    return loader;
  }

  function openPane(url, push, then) {
    if (!window.htmx) { location.assign(url); return; }
    if (push) { history.pushState({ iazePane: url }, "", url); }
    window.htmx.ajax("GET", url, { source: paneLoader(), target: "#conversation-pane", swap: "innerHTML" }).then(function () {
      markSelected();
      updateTitle();
      if (then) { then(); }
    }, function () { /* replaced by a later load, which finishes the work */ });
  }

  function open(url, then) {
    if (split()) { openPane(url, true, then); } else { location.assign(url); }
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }
    var link = event.target.closest && event.target.closest(".ticket-link");
    if (!link || !split()) { return; }
    event.preventDefault();
    openPane(link.getAttribute("href"), true);
  });

  window.addEventListener("popstate", function (event) {
    if (!event.state || !("iazePane" in event.state) || !pane()) { return; }
    if (event.state.iazePane) { openPane(event.state.iazePane, false); }
    else if (placeholder !== null) { pane().innerHTML = placeholder; markSelected(); updateTitle(); }
  });

  // Assumir from a row: the server answers with an "iaze-claimed" event naming the conversation.
  document.body.addEventListener("iaze-claimed", function (event) {
    var live = queueLive();
    if (live && window.htmx) { window.htmx.trigger(live, "iaze-refresh"); }
    var notice = document.getElementById("queue-notice");
    if (notice) { notice.textContent = ""; }
    open(event.detail.url, function () {
      var box = pane() && pane().querySelector(".reply-form textarea");
      if (box) { box.focus(); }
    });
  });

  // --- the page title's count ("(3) Atendimentos") --------------------------------------------

  var baseTitle = document.title.replace(/^\(\d+\+?\) /, "");
  var brand = baseTitle.indexOf(" · ") >= 0 ? baseTitle.slice(baseTitle.lastIndexOf(" · ")) : "";

  function updateTitle() {
    var conv = pane() && pane().querySelector("[data-page-title]");
    var base = baseTitle;
    if (conv && split()) { base = conv.dataset.pageTitle + brand; }
    var live = queueLive();
    var n = live ? parseInt(live.dataset.titleCount || "0", 10) : 0;
    document.title = (n > 0 ? "(" + n + ") " : "") + base;
  }

  // --- alerts: nothing twice for the same message, across refreshes and tabs --------------------

  function readStore() {
    try {
      var raw = localStorage.getItem(STORE);
      return raw === null ? null : JSON.parse(raw);
    } catch (e) { return null; }
  }

  function writeStore(keys) {
    try { localStorage.setItem(STORE, JSON.stringify(keys.slice(-STORE_CAP))); } catch (e) { /* private mode */ }
  }

  var memory = [];  // when localStorage is unavailable

  var audio = null;
  function unlockAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    if (!audio) { audio = new Ctx(); }
    if (audio.state === "suspended") { audio.resume(); }
  }
  // Browsers start audio only after a gesture: the first click or key press unlocks it.
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });

  function soundOn() {
    var toggle = document.querySelector("[data-alert-sound]");
    return !!toggle && toggle.dataset.alertSound === "on";
  }

  function beep() {
    if (!audio || audio.state !== "running") { return false; }
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, audio.currentTime);
    osc.frequency.setValueAtTime(660, audio.currentTime + 0.12);
    gain.gain.setValueAtTime(0.0001, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.25, audio.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.3);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.32);
    return true;
  }

  function announce(item) {
    var el = document.getElementById("alert-announcer");
    if (!el) { return; }
    var label = item.kind === "espera" ? el.dataset.labelEspera : el.dataset.labelMessage;
    el.textContent = label + " " + item.title + ": " + item.body;
  }

  function notify(item) {
    if (!("Notification" in window) || Notification.permission !== "granted") { return false; }
    try {
      var n = new Notification(item.title, { body: item.body, tag: item.key });
      n.onclick = function () { window.focus(); open(item.url); n.close(); };
      return true;
    } catch (e) { return false; }
  }

  function raise(item) {
    // A client writing in the conversation the agent is looking at is seen, not signalled.
    var shown = split() ? openTicketId() : "";
    item.quiet = !!shown && item.kind === "message" && item.url.indexOf(shown) >= 0 && document.hasFocus();
    item.sound = !item.quiet && soundOn() && beep();
    item.notified = !item.quiet && notify(item);
    window.iazeAlerts.push(item);
    document.body.dataset.alertCount = String(window.iazeAlerts.length);
    announce(item);
    document.dispatchEvent(new CustomEvent("iaze:alert", { detail: item }));
  }

  function checkAlerts() {
    var live = queueLive();
    if (!live) { return; }
    var items = Array.prototype.map.call(live.querySelectorAll("[data-alert-key]"), function (el) {
      return { key: el.dataset.alertKey, kind: el.dataset.alertKind,
               url: el.parentNode.dataset.url + el.dataset.alertTicket + "/",
               title: el.dataset.alertTitle, body: el.dataset.alertBody };
    });
    var stored = readStore();
    var seen = stored || memory;
    var fresh = items.filter(function (item) { return seen.indexOf(item.key) < 0; });
    if (!fresh.length && stored !== null) { return; }
    var keys = seen.concat(fresh.map(function (item) { return item.key; }));
    writeStore(keys);
    memory = keys;
    // The first list this browser ever sees is the starting point, not news.
    if (stored === null && !window.iazeAlertsPrimed) { window.iazeAlertsPrimed = true; return; }
    fresh.forEach(raise);
  }

  // The browser's own notifications are asked for by a click, never on page load.
  function setupNotifyButton() {
    var button = document.querySelector("[data-notify-enable]");
    if (!button || !("Notification" in window)) { return; }
    button.hidden = false;
    var show = function () {
      if (Notification.permission === "granted") { button.textContent = button.dataset.labelOn; button.disabled = true; }
      else if (Notification.permission === "denied") { button.textContent = button.dataset.labelDenied; button.disabled = true; }
    };
    show();
    button.addEventListener("click", function () {
      unlockAudio();
      Notification.requestPermission().then(show);
    });
  }

  // --- the live region of the conversation: only what is new is announced ---------------------

  var shownMessages = {};
  function rememberMessages(announceNew) {
    var announcer = document.getElementById("thread-announcer");
    var fresh = [];
    document.querySelectorAll("#thread .msg[data-message]").forEach(function (li) {
      var id = li.dataset.message;
      if (!shownMessages[id]) {
        shownMessages[id] = true;
        if (li.classList.contains("msg-in")) { fresh.push(li); }
      }
    });
    if (announceNew && announcer && fresh.length) {
      var last = fresh[fresh.length - 1].querySelector(".text, .media, .media-placeholder");
      announcer.textContent = announcer.dataset.label + " " + announcer.dataset.client + ": " +
        (last ? last.textContent.trim().replace(/\s+/g, " ") : "");
    }
  }

  // A refusal the server addressed to the list's notice area (HX-Retarget): a row's Assumir on a ticket
  // transferred away meanwhile (404) or no longer the agent's to claim (403) says why, like a lost race's 409.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && (xhr.status === 403 || xhr.status === 404) && xhr.getResponseHeader("HX-Retarget") === "#queue-notice") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // --- focus stays where the agent was when a live refresh replaces the list or the thread -----

  // Kept per request (its XMLHttpRequest is on both events' detail): a live event refreshes the list and the
  // thread at once, and one swap's beforeSwap may fall inside the other's 20 ms settle.
  var focusKeys = typeof WeakMap === "function" ? new WeakMap() : null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    var target = event.detail.target;
    var xhr = event.detail.xhr;
    if (!focusKeys || !xhr) { return; }
    if (active && target && target.contains(active) && active !== document.body) {
      // A control of the list or thread is found again by its data-focus-key; a field by its id.
      var key = active.dataset && active.dataset.focusKey ? '[data-focus-key="' + active.dataset.focusKey + '"]'
        : active.id ? "#" + CSS.escape(active.id) : null;
      if (key) { focusKeys.set(xhr, key); }
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    var xhr = event.detail.xhr;
    var focusKey = focusKeys && xhr ? focusKeys.get(xhr) : null;
    if (focusKey) {
      focusKeys.delete(xhr);
      var again = document.querySelector(focusKey);
      // Only focus the swap itself lost: when something else took it meanwhile (the reply box that Assumir
      // opens while the list refreshes), it stays there.
      var lost = !document.activeElement || document.activeElement === document.body;
      if (again && lost) { again.focus({ preventScroll: true }); }
    }
    // An outerHTML swap settles on a replaced element: the checks below are cheap and idempotent,
    // so they run after every swap rather than guessing which part of the page changed.
    if (target && target.id === "conversation-pane") { shownMessages = {}; rememberMessages(false); }
    else { rememberMessages(true); }
    markSelected();
    updateTitle();
    checkAlerts();
  });

  // --- keyboard: Enter sends (configurable), Alt+↓/↑ move between tickets, Esc back to the list -

  function reply(form) {
    var box = form.querySelector("textarea");
    if (box && box.value.trim()) { form.requestSubmit(); }
  }

  document.addEventListener("keydown", function (event) {
    var t = event.target;
    if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.metaKey && !event.altKey &&
        !event.isComposing && !event.defaultPrevented && t.matches && t.matches(".reply-form textarea") &&
        t.form.dataset.enterSends === "1") {
      event.preventDefault();
      reply(t.form);
      return;
    }
    if (event.altKey && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      var links = Array.prototype.slice.call(document.querySelectorAll("#queue-live .ticket-link"));
      if (!links.length) { return; }
      event.preventDefault();
      var id = openTicketId();
      var at = links.findIndex(function (a) { return a.closest(".ticket-row").dataset.ticket === id; });
      var next = event.key === "ArrowDown" ? at + 1 : (at < 0 ? links.length - 1 : at - 1);
      next = Math.max(0, Math.min(links.length - 1, next));
      links[next].focus();
      open(links[next].getAttribute("href"));
      return;
    }
    if (event.key === "Escape" && pane() && pane().contains(t) && split() && !event.defaultPrevented) {
      var row = document.querySelector('.ticket-row[aria-current="true"] .ticket-link') || document.querySelector(".ticket-link");
      if (row) { row.focus(); }
    }
  });

  // Enter-sends is the user's own preference, stored on the server (accounts.services.user_preferences_set).
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-pref]")) { return; }
    var form = box.closest("form");
    var data = new FormData();
    data.append(box.dataset.pref, box.checked ? "1" : "0");
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    if (box.dataset.pref === "enter_sends") { form.dataset.enterSends = box.checked ? "1" : "0"; }
    fetch(box.dataset.prefUrl, { method: "POST", body: data, headers: { "HX-Request": "true" }, credentials: "same-origin" });
  });

  // --- start --------------------------------------------------------------------------------

  function start() {
    var p = pane();
    if (p && !openTicketId()) { placeholder = p.innerHTML; }
    history.replaceState({ iazePane: openTicketId() ? location.pathname : "" }, "", location.href);
    setupNotifyButton();
    rememberMessages(false);
    var list = document.querySelector("[data-list-src]");
    if (list && WIDE.matches && window.htmx) {
      // /tickets/<uuid>/ opened on its own on a wide screen: the list comes beside it.
      window.htmx.ajax("GET", list.dataset.listSrc, { target: "#queue-live", swap: "outerHTML" });
    } else {
      markSelected();
      updateTitle();
      checkAlerts();
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
