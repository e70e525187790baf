// The QR pairing page: after a pairing request, ask the gateway again (a POST with the page's CSRF token) when
// the page says so, for a fresh QR code until the number is connected. No inline handlers: CSP.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("pair-form");
  const seconds = form ? Number(form.dataset.refreshSeconds) : 0;
  if (seconds > 0) window.setTimeout(() => form.submit(), seconds * 1000);
});
