// The console's own front-end behaviour, shipped as an anywidget ES module (no build step).
//
// One ConsoleFront widget sits in each console; it finds its console root (.lihil-console) once it is in the page
// and then:
//  * keeps every session's log (.lihil-console-log) pinned to the newest row while the user is at the bottom;
//    when the user has scrolled up, new rows leave the view where it is and a "↓ N new" control
//    (.lihil-console-new) counts them and brings the view back;
//  * installs, once per page, a key handler on window (capture phase) so that console typing never reaches the
//    notebook's shortcuts, and Enter in a compose box (.lihil-console-input) submits (it appends the invisible
//    submit mark U+2063 that the kernel side splits on);
//  * marks the console disconnected when the kernel restarts (the widget manager drops every model's comm) or
//    was shut down (it says so on its way out, or its comm refuses to send at the next click): status lines say so and a banner says what to do, instead of an
//    old "● open" or "◌ closing…".

const SUBMIT_MARK = "\u2063";
const AT_BOTTOM_PX = 8;

function installKeys() {
  if (window.__lihilConsoleKeys === 2) return;
  window.__lihilConsoleKeys = 2;
  window.addEventListener("keydown", (event) => {
    const box = event.target;
    if (!box || !box.closest || !box.closest(".lihil-console")) return;
    if (box.tagName !== "TEXTAREA" && box.tagName !== "INPUT") return;
    event.stopPropagation();
    if (event.key !== "Enter" || event.shiftKey || event.altKey || event.isComposing) return;
    if (box.tagName !== "TEXTAREA" || !box.closest(".lihil-console-input")) return;
    event.preventDefault();
    box.value = box.value + SUBMIT_MARK;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }, true);
}

function newestSeq(log) {
  const rows = log.querySelectorAll(".lihil-log-row[data-seq]");
  return rows.length ? Number(rows[rows.length - 1].dataset.seq) : 0;
}

function pinLog(log) {
  if (log.__lihilPin) return;
  const state = { pinned: true, seen: newestSeq(log) };
  log.__lihilPin = state;
  const control = document.createElement("button");
  control.className = "lihil-console-new";
  control.type = "button";
  control.hidden = true;
  control.title = "show the newest messages";
  log.appendChild(control);

  const show = () => {
    const unseen = state.pinned ? 0 : Math.max(0, newestSeq(log) - state.seen);
    const label = `↓ ${unseen} new`;
    if (control.textContent !== label) control.textContent = label;  // unchanged text: no mutation, no loop
    if (control.hidden !== (unseen === 0)) control.hidden = unseen === 0;
  };
  const toBottom = () => {
    log.scrollTop = log.scrollHeight;
    state.seen = newestSeq(log);
    show();
  };
  control.addEventListener("click", () => { state.pinned = true; toBottom(); });
  log.addEventListener("scroll", () => {
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < AT_BOTTOM_PX;
    state.pinned = atBottom;
    if (atBottom) state.seen = newestSeq(log);
    show();
  });
  new MutationObserver(() => (state.pinned ? toBottom() : show())).observe(log, {
    childList: true, subtree: true, characterData: true,
  });
  toBottom();
}

const LOST = {
  restarted: ["⚠ kernel restarted · disconnected", "The kernel restarted"],
  "shut down": ["⚠ kernel shut down · disconnected", "The kernel was shut down"],
};

function markDisconnected(root, how = "restarted") {
  if (root.classList.contains("lihil-console-disconnected")) return;
  root.classList.add("lihil-console-disconnected");
  const [status, cause] = LOST[how];
  for (const line of root.querySelectorAll(".lihil-console-status")) {
    const content = line.querySelector(".widget-html-content") || line;
    content.innerHTML = `<span class="lihil-status-disconnected">${status}</span>`;
  }
  const banner = document.createElement("div");
  banner.className = "lihil-console-banner";
  banner.textContent =
    `${cause} (or this console lost its kernel): the console is disconnected and its sessions ` +
    "are gone. Run the cell again for a new console.";
  root.prepend(banner);
}

// ipywidgets writes a description label's missing tooltip as title="null": a hover that reads "null".
function dropNullTitles(root) {
  for (const el of root.querySelectorAll('[title="null"]')) el.removeAttribute("title");
}

function whenInPage(el, then) {
  const root = el.isConnected ? el.closest(".lihil-console") : null;
  if (root) then(root);
  else requestAnimationFrame(() => whenInPage(el, then));
}

function render({ model, el }) {
  installKeys();
  let root = null;
  let observer = null;
  let titles = null;
  const onCommLive = () => { if (root) markDisconnected(root); };
  model.on("comm_live_update", onCommLive);
  // A kernel that was shut down sends no restart notice. Its console says so on its way out (the "kernel" state);
  // should that not arrive, the next click in the console finds the comm refusing to send (an empty message the
  // kernel ignores: nothing is sent in the background).
  const onKernel = () => { if (root && model.get("kernel")) markDisconnected(root, "shut down"); };
  model.on("change:kernel", onKernel);
  const probe = () => {
    if (!root || root.classList.contains("lihil-console-disconnected")) return;
    try {
      model.send({ lihil: "alive?" });
    } catch (error) {
      markDisconnected(root, "shut down");
    }
  };
  whenInPage(el, (found) => {
    root = found;
    const pinAll = () => root.querySelectorAll(".lihil-console-log").forEach(pinLog);
    pinAll();
    observer = new MutationObserver(pinAll);  // sessions added later get their own log
    observer.observe(root.querySelector(".lihil-console-sessions") || root, { childList: true, subtree: true });
    root.addEventListener("pointerdown", probe, true);
    onKernel();
    dropNullTitles(root);
    titles = new MutationObserver(() => dropNullTitles(root));
    titles.observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ["title"] });
  });
  return () => {
    model.off("comm_live_update", onCommLive);
    model.off("change:kernel", onKernel);
    if (root) root.removeEventListener("pointerdown", probe, true);
    if (observer) observer.disconnect();
    if (titles) titles.disconnect();
  };
}

export default { render };
