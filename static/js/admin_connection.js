// The connection page's webhook URL: selected on focus, copied by its button (no inline handlers: CSP).
document.addEventListener("DOMContentLoaded", () => {
  const field = document.getElementById("webhook-url");
  const copy = document.getElementById("webhook-url-copy");
  if (!field) return;
  field.addEventListener("focus", () => field.select());
  if (copy) copy.addEventListener("click", () => navigator.clipboard.writeText(field.value));
});
