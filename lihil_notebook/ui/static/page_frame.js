// PageFrame: a %%route page in an output iframe whose WebSockets to the playground go through the widget comm.
//
// The iframe is same-origin with the notebook page (no src; the parent writes the page into it), so its
// `location` is a real http(s) URL: the shim renames it to the page's own path on the notebook's origin, and the
// page's `new URL("echo", location.href)` or `ws://${location.host}/echo` mean what they mean when served direct.
// The shim replaces `WebSocket` for URLs on that origin (or on 127.0.0.1/localhost at the playground's port);
// other URLs get the browser's own WebSocket. Frames travel iframe -> postMessage -> this widget -> comm ->
// kernel -> ws://127.0.0.1:PORT, and back.

const CHANNEL = "lihil-tunnel";

function shim(virtualPath, port) {
  return `<script>(function () {
  "use strict";
  var CHANNEL = ${JSON.stringify(CHANNEL)}, PORT = ${JSON.stringify(String(port))};
  history.replaceState(null, "", ${JSON.stringify(virtualPath)});
  var Real = window.WebSocket, sockets = new Map(), next = 1, parentWindow = window.parent;
  function post(message, transfer) { message[CHANNEL] = message.op; parentWindow.postMessage(message, "*", transfer || []); }
  function tunnelPath(url) {
    var u = new URL(url, location.href);
    if (!/^(wss?|https?):$/.test(u.protocol)) return null;
    var loopback = u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
    if (u.host === location.host || (loopback && u.port === PORT)) return u.pathname + u.search;
    return null;
  }
  function TunnelWebSocket(url, protocols) {
    var path = tunnelPath(url);
    if (path === null) return protocols === undefined ? new Real(url) : new Real(url, protocols);
    var target = new EventTarget();
    Object.setPrototypeOf(target, TunnelWebSocket.prototype);
    target.url = new URL(url, location.href).href.replace(/^http/, "ws");
    target.readyState = 0; target.protocol = ""; target.extensions = ""; target.bufferedAmount = 0;
    target.binaryType = "blob"; target.onopen = target.onmessage = target.onclose = target.onerror = null;
    target._id = next++; target._chain = Promise.resolve();
    sockets.set(target._id, target);
    post({op: "open", id: target._id, path: path, protocols: protocols == null ? [] : [].concat(protocols)});
    return target;
  }
  TunnelWebSocket.prototype = Object.create(EventTarget.prototype);
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (name, value) {
    TunnelWebSocket[name] = value; TunnelWebSocket.prototype[name] = value;
  });
  TunnelWebSocket.prototype.send = function (data) {
    if (this.readyState === 0) throw new DOMException("Still in CONNECTING state.", "InvalidStateError");
    if (this.readyState !== 1) return;
    var id = this._id;
    this._chain = this._chain.then(function () {
      if (typeof data === "string") return post({op: "send", id: id, text: data});
      var bytes = data instanceof Blob ? data.arrayBuffer()
        : Promise.resolve(ArrayBuffer.isView(data) ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data.slice(0));
      return bytes.then(function (buffer) { post({op: "send", id: id, binary: buffer}, [buffer]); });
    });
  };
  TunnelWebSocket.prototype.close = function (code, reason) {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    var id = this._id;
    this._chain = this._chain.then(function () { post({op: "close", id: id, code: code || 1000, reason: reason || ""}); });
  };
  TunnelWebSocket.prototype._fire = function (event) {
    var handler = this["on" + event.type];
    if (typeof handler === "function") handler.call(this, event);
    this.dispatchEvent(event);
  };
  window.addEventListener("message", function (event) {
    var m = event.data;
    if (event.source !== parentWindow || !m || !m[CHANNEL]) return;
    var ws = sockets.get(m.id);
    if (!ws) return;
    if (m.op === "open") {
      ws.readyState = 1; ws.protocol = m.protocol || ""; ws._fire(new Event("open"));
    } else if (m.op === "message") {
      var data = typeof m.text === "string" ? m.text : (ws.binaryType === "blob" ? new Blob([m.binary]) : m.binary);
      ws._fire(new MessageEvent("message", {data: data, origin: location.origin}));
    } else if (m.op === "close") {
      ws.readyState = 3; sockets.delete(m.id);
      if (m.code === 1006) ws._fire(new Event("error"));
      ws._fire(new CloseEvent("close", {code: m.code, reason: m.reason || "", wasClean: m.code !== 1006}));
    }
  });
  window.WebSocket = TunnelWebSocket;
})();<\/script>`;
}

// The shim must run before the page's own scripts, and after a doctype (or the page would render in quirks mode).
function withShim(html, tag) {
  const at = /<head[^>]*>/i.exec(html) || /<!doctype[^>]*>/i.exec(html);
  if (!at) return tag + html;
  const end = at.index + at[0].length;
  return html.slice(0, end) + tag + html.slice(end);
}

function render({ model, el }) {
  const iframe = document.createElement("iframe");
  iframe.className = "lihil-page-frame-iframe";
  iframe.style.cssText = "width:100%;border:1px solid var(--jp-border-color2,#ddd);border-radius:4px;background:#fff";
  const sync = () => { iframe.style.height = `${model.get("height")}px`; };
  sync();
  el.classList.add("lihil-page-frame");
  el.appendChild(iframe);

  const view = Math.random().toString(36).slice(2, 10);
  let written = null;
  const write = () => {
    const doc = iframe.contentDocument;
    if (!doc || written === doc) return;
    written = doc;
    doc.open();
    doc.write(withShim(model.get("html"), shim(model.get("page_path"), model.get("port"))));
    doc.close();
    written = iframe.contentDocument;
  };
  // An iframe without src loads about:blank when it is attached (and again if the notebook re-attaches it).
  iframe.addEventListener("load", () => { if (iframe.contentDocument !== written) write(); });
  if (el.isConnected) write();

  const toFrame = (message, transfer) => {
    message[CHANNEL] = message.op;
    if (iframe.contentWindow) iframe.contentWindow.postMessage(message, "*", transfer || []);
  };
  const fromFrame = (event) => {
    const m = event.data;
    if (event.source !== iframe.contentWindow || !m || !m[CHANNEL]) return;
    const id = `${view}:${m.id}`;  // unique across views of this widget (an output shown twice)
    if (m.op === "send" && m.binary !== undefined) {
      model.send({ op: "send", id, binary: true }, undefined, [m.binary]);
    } else {
      model.send({ op: m.op, id, path: m.path, protocols: m.protocols, text: m.text, code: m.code, reason: m.reason });
    }
  };
  window.addEventListener("message", fromFrame);

  const fromKernel = (msg, buffers) => {
    if (!msg || typeof msg.op !== "string" || typeof msg.id !== "string" || !msg.id.startsWith(`${view}:`)) return;
    const id = Number(msg.id.slice(view.length + 1));
    if (msg.binary) {
      const bytes = buffers[0];
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      toFrame({ op: msg.op, id, binary: buffer }, [buffer]);
    } else {
      toFrame({ op: msg.op, id, text: msg.text, protocol: msg.protocol, code: msg.code, reason: msg.reason });
    }
  };
  model.on("msg:custom", fromKernel);
  model.on("change:height", sync);
  const reload = () => { written = null; write(); };
  model.on("change:html", reload);

  // Poll mode (Colab): the kernel's replies to a poll come from its main thread, which Colab always delivers.
  const timer = setInterval(() => {
    if (model.get("updates") === "poll" && model.get("active")) model.send({ op: "poll" });
  }, 150);

  return () => {
    clearInterval(timer);
    window.removeEventListener("message", fromFrame);
    model.off("msg:custom", fromKernel);
    model.off("change:height", sync);
    model.off("change:html", reload);
  };
}

export default { render };
