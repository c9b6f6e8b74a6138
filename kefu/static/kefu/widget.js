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
  document.body.addEventListener("kefu:sent", () => {
    text.value = ""; clientId.value = newId();
    form.querySelector("input[name=name]")?.remove();
    document.getElementById("question-menu")?.remove();
    refresh();
  });
  box.scrollTop = box.scrollHeight;
})();
