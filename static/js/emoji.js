// The reply box's emoji picker: the vendored emoji-picker-element web component (static/vendor), loaded
// only when the agent first opens it, its data (pt, CLDR) served by the app itself: no CDN, no inline script.
// The chosen emoji goes in at the cursor of the reply's textarea. Without JavaScript the button stays hidden.
import Picker from "../vendor/emoji-picker-element/picker.js";
import ptBR from "../vendor/emoji-picker-element/i18n/pt_BR.js";

document.documentElement.classList.add("js-emoji");

function insertAtCursor(textarea, text) {
  const start = textarea.selectionStart ?? textarea.value.length;
  const end = textarea.selectionEnd ?? start;
  textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
  const at = start + text.length;
  textarea.focus();
  textarea.setSelectionRange(at, at);
  // The "/" quick-reply list and anything else listening see the change as typing.
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
}

function panelOf(form) {
  const panel = form.querySelector("[data-emoji-panel]");
  if (panel && !panel.querySelector("emoji-picker")) {
    const picker = new Picker({ locale: "pt", dataSource: panel.dataset.emojiSource, i18n: ptBR });
    picker.addEventListener("emoji-click", (event) => {
      insertAtCursor(form.querySelector("textarea[name=text]"), event.detail.unicode);
    });
    panel.appendChild(picker);
  }
  return panel;
}

document.addEventListener("click", (event) => {
  const toggle = event.target.closest && event.target.closest("[data-emoji-toggle]");
  if (!toggle) { return; }
  event.preventDefault();
  const panel = panelOf(toggle.closest("form"));
  if (!panel) { return; }
  panel.hidden = !panel.hidden;
  toggle.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") { return; }
  document.querySelectorAll("[data-emoji-panel]:not([hidden])").forEach((panel) => {
    panel.hidden = true;
    const toggle = panel.closest("form").querySelector("[data-emoji-toggle]");
    if (toggle) { toggle.setAttribute("aria-expanded", "false"); toggle.focus(); }
  });
});
