// The live inbox: a socket pushes events; the page re-reads what changed over HTTP,
// so everything shown went through the same permission checks as a page load.
(function () {
  const list = document.getElementById("inbox-list");
  const conv = document.getElementById("conversation");
  const box = document.getElementById("messages");
  const status = document.getElementById("live-status");
  const openId = conv && conv.dataset.conversation ? Number(conv.dataset.conversation) : null;

  function refreshList() {
    if (list) htmx.ajax("GET", list.dataset.listUrl, { target: "#inbox-list", swap: "innerHTML" });
  }
  // Reading is a write: the page posts it when the agent has the conversation in view.
  async function markRead() {
    if (!openId || document.hidden) return;
    const token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    const res = await fetch(conv.dataset.readUrl, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token || "" },
    });
    if (res.ok) refreshList();
  }
  async function refreshConversation() {
    if (!openId) return;
    const added = await kefu.appendNew(box, conv.dataset.messagesUrl);
    htmx.ajax("GET", conv.dataset.timelineUrl, { target: "#timeline", swap: "innerHTML" });
    if (added) markRead();
  }
  // A message already on the page changed its delivery state: draw it again in place.
  async function redrawMessage(id) {
    const sep = conv.dataset.messagesUrl.includes("?") ? "&" : "?";
    const res = await fetch(`${conv.dataset.messagesUrl}${sep}after=${id - 1}`, { credentials: "same-origin" });
    if (!res.ok) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = await res.text();
    const fresh = tpl.content.getElementById(`m-${id}`);
    const old = document.getElementById(`m-${id}`);
    if (fresh && old) { old.replaceWith(fresh); htmx.process(fresh); }
  }
  markRead();
  document.addEventListener("visibilitychange", markRead);
  function notify(ev) {
    if (ev.kind !== "message_received" || !("Notification" in window)) return;
    if (Notification.permission === "granted" && (document.hidden || ev.conversation_id !== openId)) {
      const n = new Notification(ev.buyer, { body: ev.preview, tag: `kefu-${ev.conversation_id}` });
      n.onclick = () => { window.focus(); location.href = `/inbox/${ev.conversation_id}/`; };
    }
  }
  let timer = null;
  // A transaction's events come as one "events" frame, a lone event as an "event" frame.
  kefu.socket("/ws/inbox/", (frame) => {
    for (const ev of frame.type === "events" ? frame.events : [frame]) onEvent(ev);
  }, onState);
  function onEvent(ev) {
    if (ev.type !== "event") return;
    if (ev.conversation_id === openId) {
      if (ev.kind === "delivery_failed" && ev.message_id) redrawMessage(ev.message_id);
      refreshConversation();
      if (ev.kind === "message_received") document.body.dispatchEvent(new Event("kefu:buyer-wrote"));
    }
    notify(ev);
    clearTimeout(timer);
    timer = setTimeout(refreshList, 150);  // many events at a peak → one list refresh
  }
  function onState(online) {
    if (!status) return;
    status.classList.toggle("online", online);
    const label = status.querySelector(".label");
    label.textContent = online ? label.dataset.online : label.dataset.offline;
    if (online) { refreshList(); refreshConversation(); }
  }

  // A product card sent or an order chosen in the sidebar: show it without touching the
  // reply being drafted (the sidebar and scripts re-read themselves on kefu:order-chosen).
  for (const name of ["kefu:card-sent", "kefu:order-chosen"]) {
    document.body.addEventListener(name, (e) => {
      const error = document.getElementById("action-error");
      if (error) error.innerHTML = "";
      const chosen = document.getElementById("conversation-order");
      if (chosen && e.detail && e.detail.order) {
        chosen.querySelector(".value").textContent = e.detail.order;
        chosen.hidden = false;
      }
      refreshConversation(); refreshList();
    });
  }

  if ("Notification" in window && Notification.permission === "default") {
    document.addEventListener("click", () => Notification.requestPermission(), { once: true });
  }
  if (box) box.scrollTop = box.scrollHeight;
  const text = document.getElementById("reply-text");
  const form = document.getElementById("reply-form");
  if (text && form) {
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); htmx.trigger(form, "submit"); }
    });
    // One click puts a suggested script (placeholders filled) or a quick reply in the box.
    document.getElementById("reply-tools")?.addEventListener("click", (e) => {
      const offer = e.target.closest(".offer");
      if (!offer) return;
      text.value = offer.dataset.text;
      document.getElementById("script-variant").value = offer.dataset.variant || "";
      document.getElementById("script-suggested").value = offer.dataset.suggested || "";
      const gap = text.value.search(/\[[^\]]{1,40}\?\]/);
      text.focus();
      if (gap >= 0) text.setSelectionRange(gap, text.value.indexOf("]", gap) + 1);
    });
    document.body.addEventListener("kefu:sent", () => {
      text.value = ""; document.getElementById("action-error").innerHTML = "";
      document.getElementById("script-variant").value = "";
      document.getElementById("script-suggested").value = "";
      const image = document.getElementById("reply-image");
      if (image) image.value = "";
      refreshConversation(); refreshList();
    });
  }
})();
