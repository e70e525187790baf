// Attaching a file to a reply: file picker, drag and drop onto the reply box, or pasting an image.
// A preview shows what will be sent; the reply's text becomes its caption. Everything works without this file.
(function () {
  "use strict";

  function box(el) { return el && el.closest ? el.closest(".reply-form") : null; }
  function input(form) { return form.querySelector('input[type="file"]'); }

  function sizeText(n) {
    if (n < 1024) { return n + " B"; }
    if (n < 1024 * 1024) { return (n / 1024).toFixed(1) + " KB"; }
    return (n / 1024 / 1024).toFixed(1) + " MB";
  }

  function preview(form) {
    var field = input(form);
    var area = form.querySelector("[data-attach-preview]");
    if (!field || !area) { return; }
    area.textContent = "";
    var file = field.files && field.files[0];
    if (!file) { area.hidden = true; return; }
    if (/^image\/(jpeg|png|gif|webp)$/.test(file.type)) {
      var img = document.createElement("img");
      img.className = "attach-thumb";
      img.alt = file.name;
      img.src = URL.createObjectURL(file);
      area.appendChild(img);
    }
    var label = document.createElement("span");
    label.className = "attach-name";
    label.textContent = file.name + " · " + (file.type || "?") + " · " + sizeText(file.size);
    area.appendChild(label);
    var clear = document.createElement("button");
    clear.type = "button";
    clear.className = "btn attach-clear";
    clear.textContent = "×";
    clear.setAttribute("aria-label", "Remover anexo");
    clear.addEventListener("click", function () { field.value = ""; preview(form); });
    area.appendChild(clear);
    area.hidden = false;
  }

  function attach(form, files) {
    var field = input(form);
    if (!field || !files || !files.length) { return false; }
    var list = new DataTransfer();
    list.items.add(files[0]);
    field.files = list.files;
    preview(form);
    return true;
  }

  document.addEventListener("change", function (event) {
    var form = box(event.target);
    if (form && event.target.type === "file") { preview(form); }
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
})();
