// Progressive help only: every screen works without it. Moves focus to the status line when it
// says something (so a screen reader reads the sentence), else to the first field with autofocus.
// Nothing is ever written to browser storage.
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("status");
  if (status && status.textContent.trim()) {
    status.setAttribute("tabindex", "-1");
    status.focus();
  }
  document.querySelectorAll("form[data-busy]").forEach((form) => {
    form.addEventListener("submit", () => {
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
      form.setAttribute("aria-busy", "true");
    });
  });
});
