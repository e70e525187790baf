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

  // Plain (non-htmx) action forms: one submission per click, however fast the double click. A form with
  // data-confirm (Finalizar: a closed ticket stays closed) asks first; "Cancelar" sends nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("hx-post")) { return; }
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    var button = form.querySelector("[data-once]");
    if (button) {
      if (button.dataset.sent) { event.preventDefault(); return; }
      button.dataset.sent = "1";
    }
  });

  // A message's "Citar": quote it in the reply being written, without leaving the page (without this
  // script the link reloads the page with ?reply_to=, which does the same on the server).
  document.addEventListener("click", function (event) {
    var quote = event.target.closest && event.target.closest("[data-quote], [data-quote-cancel]");
    var form = quote && document.querySelector(".reply-form");
    if (!form || !form.querySelector("[data-reply-to]")) { return; }
    event.preventDefault();
    var field = form.querySelector("[data-reply-to]");
    var box = form.querySelector("[data-quoting]");
    var cancel = quote.hasAttribute("data-quote-cancel");
    field.value = cancel ? "" : quote.getAttribute("data-quote");
    form.querySelector("[data-quoting-text]").textContent = cancel ? "" : quote.getAttribute("data-quote-text");
    box.hidden = cancel;
    if (!cancel && form.elements.text) { form.elements.text.focus(); }
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
