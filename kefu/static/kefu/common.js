// Shared by the inbox and the widget: append only messages not yet on the page.
window.kefu = window.kefu || {};
kefu.lastId = function (box) {
  let last = 0;
  box.querySelectorAll("[data-id]").forEach((el) => { last = Math.max(last, Number(el.dataset.id)); });
  return last;
};
kefu.appendNew = async function (box, url) {
  const sep = url.includes("?") ? "&" : "?";
  const res = await fetch(`${url}${sep}after=${kefu.lastId(box)}`, { credentials: "same-origin" });
  if (!res.ok) return 0;
  const tpl = document.createElement("template");
  tpl.innerHTML = await res.text();
  let added = 0;
  tpl.content.querySelectorAll("[data-id]").forEach((el) => {
    if (!document.getElementById(el.id)) { box.appendChild(el); added += 1; }
  });
  if (added) { box.querySelector(".hello")?.remove(); box.scrollTop = box.scrollHeight; }
  return added;
};
kefu.socket = function (path, onMessage, onState) {
  let delay = 500;
  let ping = null;
  function open() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}${path}`);
    ws.onopen = () => {
      delay = 500; onState && onState(true);
      ping = setInterval(() => ws.readyState === 1 && ws.send(JSON.stringify({ type: "ping" })), 25000);
    };
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onclose = () => {
      clearInterval(ping); onState && onState(false);
      setTimeout(open, delay); delay = Math.min(delay * 2, 15000);
    };
  }
  open();
};
