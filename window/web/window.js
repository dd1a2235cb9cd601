// Progressive help only: every screen works without it. Moves focus to the status line when it
// says something (so a screen reader reads the sentence). A form being sent is marked busy and a
// second press is ignored (buttons are not disabled: a disabled submitter would drop its value).
// Nothing is ever written to browser storage.
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("status");
  if (status && status.textContent.trim()) {
    status.setAttribute("tabindex", "-1");
    status.focus();
  }
  document.querySelectorAll("form[data-busy]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (form.getAttribute("aria-busy") === "true") {
        event.preventDefault();
        return;
      }
      form.setAttribute("aria-busy", "true");
    });
  });
});
