// BrowserUrl: a URL for the user's browser, completed from the page's own location where the kernel cannot know
// the host (a path-absolute URL through the Jupyter server's proxy), with a copy button and, for pages, a link.
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
  const open = document.createElement("a");
  open.className = "lihil-open-page";
  open.target = "_blank";
  open.rel = "noopener";
  open.textContent = "open page ↗";
  open.style.cssText = "color:var(--jp-content-link-color,#1a73e8);text-decoration:underline";
  box.append(label, code, copy, open);
  el.appendChild(box);

  const show = () => {
    const href = model.get("href");
    const full = href ? complete(href, model.get("websocket")) : "";
    label.textContent = model.get("label");
    code.textContent = full || "(server stopped)";
    el.dataset.url = full;
    copy.style.display = full ? "" : "none";
    open.style.display = full && model.get("open_link") ? "" : "none";
    open.href = full || "#";
  };
  copy.addEventListener("click", async () => {
    const text = el.dataset.url || "";
    try {
      await navigator.clipboard.writeText(text);
      copy.textContent = "copied";
    } catch (error) {  // no clipboard permission (an insecure origin): select it for Ctrl+C instead
      const range = document.createRange();
      range.selectNodeContents(code);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      copy.textContent = "select + Ctrl+C";
    }
    setTimeout(() => { copy.textContent = "copy"; }, 1500);
  });
  model.on("change", show);
  show();
  return () => model.off("change", show);
}

export default { render };
