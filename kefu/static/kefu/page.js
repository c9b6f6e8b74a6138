// Behaviour every workbench page may use, bound by data attributes rather than inline
// handlers so the Content-Security-Policy can forbid inline script.
document.addEventListener("click", (ev) => {
  const confirmer = ev.target.closest("[data-confirm]");
  if (confirmer && !window.confirm(confirmer.dataset.confirm)) {
    ev.preventDefault();
    return;
  }
  // A rule-guard alternative: put its text in the reply box.
  const use = ev.target.closest("[data-use-alternative]");
  if (use) {
    const box = document.getElementById("reply-text");
    box.value = use.previousElementSibling.textContent;
    box.focus();
  }
});
// The yellow-mark duty: the message to the buyer follows the tracking number as it is typed.
document.addEventListener("input", (ev) => {
  const field = ev.target.closest("[data-fills-template]");
  if (!field) return;
  const form = field.form;
  form.text.value = form.text.dataset.template
    .replace("{tracking}", form.tracking_number.value)
    .replace("{carrier}", form.carrier.value);
});
