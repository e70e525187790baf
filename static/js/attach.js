// Attaching files to a reply: file picker, drag and drop onto the reply box, or pasting an image.
// A preview shows what will be sent, in order; one file's caption is the reply's text, several have one each. Everything works without this file.
(function () {
  "use strict";

  function box(el) { return el && el.closest ? el.closest(".reply-form") : null; }
  function input(form) { return form.querySelector('input[type="file"][name="file"]'); }  // not the voice note's

  function sizeText(n) {
    if (n < 1024) { return n + " B"; }
    if (n < 1024 * 1024) { return (n / 1024).toFixed(1) + " KB"; }
    return (n / 1024 / 1024).toFixed(1) + " MB";
  }

  // One row per chosen file, in the order they will be sent; with several files each row has its own
  // caption field (`caption`, in order); with one, the reply's text is its caption as before.
  function preview(form) {
    var field = input(form);
    var area = form.querySelector("[data-attach-preview]");
    if (!field || !area) { return; }
    var typed = Array.prototype.map.call(area.querySelectorAll("input[name=caption]"), function (c) { return c.value; });
    area.textContent = "";
    var files = Array.prototype.slice.call(field.files || []);
    if (!files.length) { area.hidden = true; return; }
    files.forEach(function (file, index) {
      var row = document.createElement("div");
      row.className = "attach-row";
      if (/^image\/(jpeg|png|gif|webp)$/.test(file.type)) {
        var img = document.createElement("img");
        img.className = "attach-thumb";
        img.alt = file.name;
        img.src = URL.createObjectURL(file);
        row.appendChild(img);
      }
      var label = document.createElement("span");
      label.className = "attach-name";
      label.textContent = file.name + " · " + (file.type || "?") + " · " + sizeText(file.size);
      row.appendChild(label);
      if (files.length > 1) {
        var caption = document.createElement("input");
        caption.type = "text";
        caption.name = "caption";
        caption.className = "attach-caption";
        caption.placeholder = "Legenda (opcional)";
        caption.setAttribute("aria-label", "Legenda de " + file.name);
        caption.value = typed[index] || "";
        row.appendChild(caption);
      }
      var clear = document.createElement("button");
      clear.type = "button";
      clear.className = "btn attach-clear";
      clear.textContent = "×";
      clear.setAttribute("aria-label", "Remover " + file.name);
      clear.addEventListener("click", function () { remove(form, index); });
      row.appendChild(clear);
      area.appendChild(row);
    });
    area.hidden = false;
  }

  function remove(form, index) {
    var field = input(form);
    var list = new DataTransfer();
    Array.prototype.forEach.call(field.files, function (f, i) { if (i !== index) { list.items.add(f); } });
    field.files = list.files;
    preview(form);
  }

  // Dropped or pasted files join those already chosen, after them.
  function attach(form, files) {
    var field = input(form);
    if (!field || !files || !files.length) { return false; }
    var list = new DataTransfer();
    Array.prototype.forEach.call(field.files || [], function (f) { list.items.add(f); });
    Array.prototype.forEach.call(files, function (f) { list.items.add(f); });
    field.files = list.files;
    preview(form);
    return true;
  }

  document.addEventListener("change", function (event) {
    var form = box(event.target);
    if (form && event.target === input(form)) { preview(form); }
  });
  document.addEventListener("dragover", function (event) {
    var form = box(event.target);
    if (form) { event.preventDefault(); form.classList.add("dragging"); }
  });
  document.addEventListener("dragleave", function (event) {
    var form = box(event.target);
    if (form) { form.classList.remove("dragging"); }
  });
  document.addEventListener("drop", function (event) {
    var form = box(event.target);
    if (!form) { return; }
    event.preventDefault();
    form.classList.remove("dragging");
    attach(form, event.dataTransfer && event.dataTransfer.files);
  });
  document.addEventListener("paste", function (event) {
    var form = box(event.target);
    if (!form || !event.clipboardData) { return; }
    var files = Array.prototype.filter.call(event.clipboardData.files || [], function (f) {
      return /^image\//.test(f.type);
    });
    if (files.length && attach(form, files)) { event.preventDefault(); }
  });
  // A reply over the route's size cap is refused (413) before the server reads it, with the reason as
  // plain text: shown under the attachment, since htmx swaps no error answer.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var form = box(event.detail.elt);
    if (!form || !xhr || xhr.status !== 413) { return; }
    var note = form.querySelector("[data-too-large]");
    if (!note) {
      note = document.createElement("p");
      note.className = "error";
      note.setAttribute("role", "alert");
      note.setAttribute("data-too-large", "");
      form.querySelector("[data-attach]").insertAdjacentElement("afterend", note);
    }
    note.textContent = xhr.responseText;
  });
})();
