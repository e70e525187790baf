// Small behaviours of the agent workspace; everything works without this file.
(function () {
  "use strict";

  function threadEl() { return document.getElementById("thread"); }

  function nearBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 80; }

  function toBottom() {
    var el = threadEl();
    if (el && !new URLSearchParams(location.search).has("before")) { el.scrollTop = el.scrollHeight; }
  }

  var stick = true;
  document.addEventListener("DOMContentLoaded", toBottom);
  document.addEventListener("htmx:beforeSwap", function () {
    var el = threadEl();
    stick = !el || nearBottom(el);
  });
  document.addEventListener("htmx:afterSettle", function () { if (stick) { toBottom(); } });

  // Plain (non-htmx) action forms: one submission per click, however fast the double click.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("hx-post")) { return; }
    var button = form.querySelector("[data-once]");
    if (button) {
      if (button.dataset.sent) { event.preventDefault(); return; }
      button.dataset.sent = "1";
    }
  });

  // Ctrl+Enter (or Cmd+Enter) sends the reply.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form &&
        event.target.form.classList.contains("reply-form")) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });
})();
