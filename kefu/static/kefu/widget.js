(function () {
  const root = document.getElementById("widget");
  const box = document.getElementById("messages");
  const form = document.getElementById("widget-form");
  const text = document.getElementById("widget-text");
  const clientId = document.getElementById("client-id");
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
  clientId.value = newId();
  const refresh = () => kefu.appendNew(box, root.dataset.messagesUrl);
  const notice = document.getElementById("widget-notice");
  let noticeTimer = null;
  let offline = false;
  // The buyer is told when the live connection drops (messages still go out over HTTP) and
  // the note goes away when it is back.
  kefu.socket(root.dataset.ws, (ev) => { if (ev.type === "message") refresh(); }, (online) => {
    if (online) {
      refresh();
      if (offline) { notice.hidden = true; offline = false; }
    } else if (notice.hidden || offline) {
      notice.textContent = root.dataset.offline; notice.hidden = false; offline = true;
    }
  });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); htmx.trigger(form, "submit"); }
  });
  // A refusal (429 when sending too fast, 400 for a bad message) arrives as a sentence in the
  // buyer's language; the typed text stays so nothing is lost.
  form.addEventListener("htmx:responseError", (e) => {
    const xhr = e.detail.xhr;
    const said = xhr.status < 500 ? (xhr.responseText || "").trim() : "";
    notice.textContent = said || root.dataset.sendFailed;
    notice.hidden = false; offline = false;
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
  // A coupon's code is copied to paste at checkout; the button says so for a moment.
  box.addEventListener("click", (e) => {
    const button = e.target.closest(".coupon-copy");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.dataset.code).then(() => {
      const label = button.textContent;
      button.textContent = root.dataset.copied;
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  });
  // A consultation invitation waits for its moment (seconds on the page, or the pointer
  // leaving the page; the embedding page may also post "kefu:exit-intent"). The server is
  // asked first: it refuses (409) when this browser saw one within the cooling-off period.
  const invite = document.getElementById("widget-invitation");
  if (invite) {
    let asked = false;
    const token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    const show = () => {
      if (asked || !document.body.contains(invite)) return;
      asked = true;
      const body = new FormData();
      body.append("product", invite.dataset.product || "");
      fetch(invite.dataset.shownUrl, { method: "POST", body, headers: { "X-CSRFToken": token }, credentials: "same-origin" })
        .then((r) => { if (r.status === 204) invite.hidden = false; else invite.remove(); });
    };
    if (invite.dataset.trigger === "exit") {
      document.documentElement.addEventListener("mouseleave", (e) => { if (e.clientY <= 0) show(); });
      window.addEventListener("message", (e) => { if (e.data === "kefu:exit-intent") show(); });
    } else {
      setTimeout(show, Math.max(0, parseInt(invite.dataset.delay || "0", 10)) * 1000);
    }
    document.getElementById("invitation-close").addEventListener("click", () => invite.remove());
    document.body.addEventListener("kefu:sent", () => invite.remove());
    invite.addEventListener("htmx:responseError", (e) => {
      notice.textContent = (e.detail.xhr.responseText || "").trim() || root.dataset.sendFailed;
      notice.hidden = false;
      invite.remove();
    });
  }
  box.scrollTop = box.scrollHeight;
})();
