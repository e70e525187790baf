// Quick replies: typing "/" in the reply box lists the matching shortcuts (arrows, Enter, Esc);
// choosing one puts its filled text in the box. Without JavaScript the select below the form does it.
// Also: the transfer dialog picks the department of the chosen agent.
(function () {
  "use strict";

  // With this script running, the "/" list replaces the no-JS select (see app.css).
  document.documentElement.classList.add("js-quick");

  function parts(textarea) {
    var form = textarea.form;
    var list = form && form.querySelector("#quick-list");
    return list ? { form: form, list: list } : null;
  }

  function options(list) {
    return Array.prototype.filter.call(list.querySelectorAll("[role=option]"), function (li) { return !li.hidden; });
  }

  function close(list) {
    list.hidden = true;
    list.querySelectorAll("[aria-selected]").forEach(function (li) { li.removeAttribute("aria-selected"); });
  }

  function highlight(list, index) {
    var shown = options(list);
    shown.forEach(function (li, i) {
      if (i === index) { li.setAttribute("aria-selected", "true"); } else { li.removeAttribute("aria-selected"); }
    });
  }

  function current(list) {
    var shown = options(list);
    for (var i = 0; i < shown.length; i++) { if (shown[i].hasAttribute("aria-selected")) { return i; } }
    return -1;
  }

  // A quick reply with a file (a PIX QR code, a catalogue): the form sends its id, the text as the caption.
  function quickFile(form, id, name) {
    var hidden = form.querySelector("[data-quick-reply]");
    var chip = form.querySelector("[data-quick-attached]");
    if (!hidden || !chip) { return; }
    hidden.value = id || "";
    chip.querySelector("[data-quick-file-name]").textContent = name || "";
    chip.hidden = !id;
  }

  function choose(textarea, li) {
    quickFile(textarea.form, li.dataset.quickId, li.dataset.fileName);
    textarea.value = li.dataset.text;
    close(parts(textarea).list);
    textarea.focus();
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
  }

  function filter(textarea) {
    var p = parts(textarea);
    if (!p) { return; }
    var value = textarea.value;
    if (value.charAt(0) !== "/" || /\s/.test(value)) { close(p.list); return; }
    var query = value.toLowerCase();
    var any = false;
    p.list.querySelectorAll("[role=option]").forEach(function (li) {
      li.hidden = li.dataset.shortcut.toLowerCase().indexOf(query) !== 0;
      any = any || !li.hidden;
    });
    p.list.hidden = !any;
    if (any) { highlight(p.list, 0); }
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches(".reply-form textarea")) { filter(event.target); }
  });

  document.addEventListener("keydown", function (event) {
    var textarea = event.target;
    if (!textarea.matches || !textarea.matches(".reply-form textarea")) { return; }
    var p = parts(textarea);
    if (!p || p.list.hidden) { return; }
    var shown = options(p.list);
    var at = current(p.list);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      highlight(p.list, (at + step + shown.length) % shown.length);
    } else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
      if (at >= 0) { event.preventDefault(); event.stopPropagation(); choose(textarea, shown[at]); }
    } else if (event.key === "Escape") {
      event.preventDefault();
      close(p.list);
    }
  }, true);

  document.addEventListener("click", function (event) {
    var clear = event.target.closest && event.target.closest("[data-quick-file-clear]");
    if (clear) { quickFile(clear.closest("form"), "", ""); return; }
    var li = event.target.closest && event.target.closest("#quick-list [role=option]");
    if (li) { choose(li.closest("form").querySelector("textarea"), li); }
  });

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.id !== "transfer-agent") { return; }
    var chosen = select.options[select.selectedIndex];
    var dept = select.form.querySelector("#transfer-department");
    if (chosen && dept && chosen.dataset.department) {
      var match = dept.querySelector('option[value="' + chosen.dataset.department + '"]');
      dept.value = match ? chosen.dataset.department : "";
    }
  });
})();
