// Live updates (docs/workspace.md#live-updates). <body sse-connect="/eventos/"> holds the user's event
// stream through htmx's SSE extension. While it is open, the live blocks marked data-live-refresh (the
// queue #queue-live, the conversation #thread-live, the panel #panel-live) refresh when an event concerns
// them ("iaze-refresh", a trigger they already have) and their timed polls stand down; when it cannot be
// held (a server on sync workers answers 204, a proxy that buffers, a dropped connection) they poll as
// before. No filter expressions in hx-trigger: they need eval, which the Content-Security-Policy forbids.
//
// Two attributes for blocks whose figures also move without a ticket event (the panel: waits grow, agents
// go on and offline): data-live-tick="S" lets one timed poll in every S seconds through while the stream is
// open, and data-live-gap="S" refreshes at most once every S seconds (the last event is never dropped: a
// refresh is scheduled for the end of the gap), so a busy tenant does not re-render a summary per event.
(function () {
  "use strict";
  var live = false;
  // The stream's state on <html data-live="on|off">, for styles and the browser tests.
  function mark(on) {
    live = on;
    document.documentElement.setAttribute("data-live", on ? "on" : "off");
  }
  var hooked = typeof WeakSet === "function" ? new WeakSet() : null;
  // By block id, since a refresh swaps the element itself (outerHTML): when it last asked, and a refresh
  // scheduled for the end of its gap.
  var asked = {};
  var scheduled = {};

  function seconds(el, name) {
    return parseFloat(el.getAttribute(name) || "0") * 1000 || 0;
  }

  function refresh(el, ticket) {
    if (!window.htmx) return;
    if (ticket && el.getAttribute("data-live-ticket") && el.getAttribute("data-live-ticket") !== ticket) return;
    var id = el.id;
    var wait = (asked[id] || 0) + seconds(el, "data-live-gap") - Date.now();
    if (wait > 0) {
      if (!scheduled[id]) {
        scheduled[id] = setTimeout(function () {
          scheduled[id] = null;
          var now = document.getElementById(id);
          if (now) refresh(now, "");
        }, wait);
      }
      return;
    }
    window.htmx.trigger(el, "iaze-refresh");
  }

  function onMessage(event) {
    var data;
    try {
      data = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    var ticket = data.type === "resync" ? "" : data.ticket || "";
    var blocks = document.querySelectorAll("[data-live-refresh]");
    for (var i = 0; i < blocks.length; i++) refresh(blocks[i], ticket);
  }

  document.addEventListener("htmx:sseOpen", function (evt) {
    mark(true);
    var source = evt.detail && evt.detail.source;
    if (source && (!hooked || !hooked.has(source))) {
      if (hooked) hooked.add(source);
      source.addEventListener("message", onMessage);
    }
  });
  function down() {
    mark(false);
  }
  document.addEventListener("htmx:sseError", down);
  document.addEventListener("htmx:sseClose", down);

  // A timed poll (no triggering event) is skipped while the stream is open, but for a block's tick.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var el = evt.detail && evt.detail.elt;
    if (!el || !el.hasAttribute || !el.hasAttribute("data-live-refresh")) return;
    var cfg = evt.detail.requestConfig;
    var timed = !cfg || !cfg.triggeringEvent;
    var tick = seconds(el, "data-live-tick");
    if (live && timed && !(tick && Date.now() - (asked[el.id] || 0) >= tick)) {
      evt.preventDefault();
      return;
    }
    asked[el.id] = Date.now();
  });
})();
