// BrowserUrl: a URL for the user's browser, completed from the page's own location where the kernel cannot know
// the host (a path-absolute URL through the Jupyter server's proxy), with a copy button and, for pages, a link.
// The URL shown never carries the token (outputs are saved); "copy" and "open page" ask the kernel for the URL
// with it, in a message that is not saved.
const ASK_TIMEOUT_MS = 5000;

function complete(href, websocket) {
  let url;
  try { url = new URL(href, location.href); } catch (error) { return href; }
  if (websocket) url.protocol = url.protocol === "https:" ? "wss:" : url.protocol === "http:" ? "ws:" : url.protocol;
  // URL() escapes a route's {param} as %7Bparam%7D: show (and copy) it as the route reads, for the user to fill.
  return url.href.replace(/%7B/gi, "{").replace(/%7D/gi, "}");
}

function render({ model, el }) {
  el.classList.add("lihil-browser-url");
  const box = document.createElement("div");
  box.style.cssText = "display:flex;flex-wrap:wrap;gap:8px;align-items:center;padding:2px 6px";
  const label = document.createElement("span");
  label.className = "lihil-console-label";
  const code = document.createElement("code");
  code.className = "lihil-url lihil-browser-url-text";
  const copy = document.createElement("button");
  copy.className = "lihil-copy jupyter-button";
  copy.textContent = "copy";
  copy.title = "copy the URL with the playground's token (for websocat, curl or a browser tab)";
  const open = document.createElement("a");
  open.className = "lihil-open-page";
  open.target = "_blank";
  open.rel = "noopener";
  open.textContent = "open page ↗";
  open.style.cssText = "color:var(--jp-content-link-color,#1a73e8);text-decoration:underline";
  box.append(label, code, copy, open);
  el.appendChild(box);

  let asked = 0;
  const waiting = new Map();
  const onMessage = (message) => {
    if (!message || message.op !== "full-url" || !waiting.has(message.id)) return;
    waiting.get(message.id)(message.url || "");
    waiting.delete(message.id);
  };
  model.on("msg:custom", onMessage);
  // The URL with the token, from the kernel; the shown one when the kernel does not answer in time.
  const fullUrl = () => new Promise((resolve) => {
    const id = ++asked;
    const timer = setTimeout(() => { waiting.delete(id); resolve(el.dataset.url || ""); }, ASK_TIMEOUT_MS);
    waiting.set(id, (url) => { clearTimeout(timer); resolve(url ? complete(url, model.get("websocket")) : ""); });
    model.send({ op: "full-url", id });
  });

  const show = () => {
    const href = model.get("href");
    const full = href ? complete(href, model.get("websocket")) : "";
    label.textContent = model.get("label");
    code.textContent = full || model.get("empty");
    el.dataset.url = full;
    copy.style.display = full ? "" : "none";
    open.style.display = full && model.get("open_link") ? "" : "none";
    open.href = full || "#";
  };
  const flash = (text) => {
    copy.textContent = text;
    setTimeout(() => { copy.textContent = "copy"; code.textContent = el.dataset.url || model.get("empty"); }, 4000);
  };
  copy.addEventListener("click", async () => {
    const pending = fullUrl();
    try {
      if (window.ClipboardItem && navigator.clipboard && navigator.clipboard.write) {
        // The promise keeps the click's user activation (Safari needs it) while the kernel answers.
        const blob = pending.then((text) => new Blob([text], { type: "text/plain" }));
        await navigator.clipboard.write([new ClipboardItem({ "text/plain": blob })]);
      } else {
        await navigator.clipboard.writeText(await pending);
      }
      flash("copied");
    } catch (error) {  // no clipboard (an insecure origin): show it selected for Ctrl+C, for a moment
      code.textContent = await pending;
      const range = document.createRange();
      range.selectNodeContents(code);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      flash("select + Ctrl+C");
    }
  });
  open.addEventListener("click", (event) => {
    event.preventDefault();
    const tab = window.open("", "_blank");  // now, while the click counts as the user's: popup blockers allow it
    fullUrl().then((url) => {
      if (!tab) { window.open(url, "_blank", "noopener"); return; }
      tab.opener = null;
      tab.location.href = url;
    });
  });
  model.on("change", show);
  show();
  return () => { model.off("change", show); model.off("msg:custom", onMessage); };
}

export default { render };
