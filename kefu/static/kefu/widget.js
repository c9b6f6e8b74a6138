(function () {
  const root = document.getElementById("widget");
  const box = document.getElementById("messages");
  const form = document.getElementById("widget-form");
  const text = document.getElementById("widget-text");
  const clientId = document.getElementById("client-id");
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
  clientId.value = newId();
  const refresh = () => kefu.appendNew(box, root.dataset.messagesUrl);
  kefu.socket(root.dataset.ws, (ev) => { if (ev.type === "message") refresh(); }, (online) => { if (online) refresh(); });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); htmx.trigger(form, "submit"); }
  });
  const notice = document.getElementById("widget-notice");
  let noticeTimer = null;
  // A refusal (429 when sending too fast, 400 for a bad message) arrives as a sentence in the
  // buyer's language; the typed text stays so nothing is lost.
  form.addEventListener("htmx:responseError", (e) => {
    const xhr = e.detail.xhr;
    const said = xhr.status < 500 ? (xhr.responseText || "").trim() : "";
    notice.textContent = said || root.dataset.sendFailed;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    const wait = parseInt(xhr.getResponseHeader("Retry-After") || "", 10);
    if (wait > 0) noticeTimer = setTimeout(() => { notice.hidden = true; }, Math.min(wait, 3600) * 1000);
  });
  document.body.addEventListener("kefu:sent", () => {
    notice.hidden = true;
    text.value = ""; clientId.value = newId();
    form.querySelector("input[name=name]")?.remove();
    document.getElementById("question-menu")?.remove();
    refresh();
  });
  box.scrollTop = box.scrollHeight;
})();
