"""How the console looks and the little front-end behaviour it needs, plus builders for its styled widgets.

``ASSETS_HTML`` goes into one HTML widget per console. It carries the stylesheet (scoped to ``lihil-*``
classes, using JupyterLab's theme variables where they exist) and installs, once per page, a key handler on
``window`` in the capture phase, so it runs before the notebook's own shortcuts:

* keys typed in the console's text boxes go no further: Notebook 7 would otherwise run the cell on
  Shift+Enter (re-creating the console) and take single keys as commands;
* Enter in a ``.lihil-console-input`` box appends :data:`SUBMIT_MARK` to the box's value and announces the
  change like a keystroke, so the kernel sees "submit" in the same ordered stream as the text; Shift+Enter
  keeps inserting a newline.

ipywidgets' HTML widget sets ``innerHTML``, where ``<script>`` does not run but an ``onerror`` handler does;
where a front end strips it, Enter simply adds a newline and the Send button works.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import ipywidgets as widgets

#: See :mod:`.console_session`: the kernel side splits the compose value on this invisible separator.
SUBMIT_MARK = "\u2063"

_KEY_HANDLER = """(function () {
  if (window.__lihilConsoleKeys === 2) return;
  window.__lihilConsoleKeys = 2;
  window.addEventListener('keydown', function (event) {
    var box = event.target;
    if (!box || !box.closest || !box.closest('.lihil-console')) return;
    if (box.tagName !== 'TEXTAREA' && box.tagName !== 'INPUT') return;
    event.stopPropagation();
    if (event.key !== 'Enter' || event.shiftKey || event.altKey || event.isComposing) return;
    if (box.tagName !== 'TEXTAREA' || !box.closest('.lihil-console-input')) return;
    event.preventDefault();
    box.value = box.value + '\\u2063';
    box.dispatchEvent(new Event('input', {bubbles: true}));
  }, true);
})();"""

_STYLESHEET = """
.lihil-console, .lihil-route-card { border: 1px solid var(--jp-border-color2, #ddd); border-radius: 4px;
  padding: 4px 6px; }
.lihil-console-sessions { gap: 8px; }
.lihil-console-session { flex: 1 1 440px; min-width: 360px; border: 1px solid var(--jp-border-color2, #ddd);
  border-radius: 4px; padding: 4px; }
.lihil-console-direction, .lihil-console-clear, .lihil-console-export, .lihil-console-ping,
.lihil-console-remove { padding: 0 8px; }
.lihil-console-label { color: var(--jp-ui-font-color2, #666); padding: 0 4px; }
.lihil-console-status, .lihil-console-url, .lihil-console-target { padding: 0 6px; }
.lihil-url { user-select: all; }
.lihil-copy { font-size: 11px; padding: 0 6px; cursor: pointer; }
.lihil-console-log { border: 1px solid var(--jp-border-color3, #eee); background: var(--jp-layout-color0, #fff);
  min-height: 60px; }
.lihil-log-chunk, .lihil-log-chunk .widget-html-content { width: 100%; margin: 0; }
.lihil-log-row { display: flex; gap: 8px; align-items: baseline; line-height: 1.35; padding: 1px 4px;
  border-bottom: 1px solid var(--jp-border-color3, #f0f0f0);
  font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.lihil-log-time, .lihil-log-size { color: var(--jp-ui-font-color2, #888); white-space: nowrap; }
.lihil-log-size { min-width: 4.5em; text-align: right; }
.lihil-log-dir { font-weight: bold; width: 1em; text-align: center; }
.lihil-log-row > pre.lihil-log-data { margin: 0; padding: 0; flex: 1; white-space: pre-wrap;
  word-break: normal; overflow-wrap: anywhere; background: transparent; border: 0; font-family: inherit; font-size: inherit; }
.lihil-log-sent .lihil-log-dir { color: #1a73e8; }
.lihil-log-received .lihil-log-dir { color: #188038; }
.lihil-log-event { color: var(--jp-ui-font-color2, #666); }
.lihil-log-kind-error, .lihil-log-kind-denied, .lihil-log-kind-server-error { color: #c5221f; }
.lihil-log-kind-server-warning, .lihil-log-kind-dropped { color: #b06000; }
.lihil-log-kind-stale { color: #b06000; }
.lihil-log-kind-server-print > pre.lihil-log-data { font-style: italic; }
.lihil-status-open { color: #188038; font-weight: bold; }
.lihil-status-connecting { color: #b06000; }
.lihil-status-closed { color: #c5221f; }
.lihil-status-stale { color: #b06000; font-weight: bold; }
.lihil-note-error { color: #c5221f; }
.lihil-console-note:empty, .lihil-console-notice:empty { display: none; }
"""

#: One per console: the stylesheet and the Enter key handler.
ASSETS_HTML = (
    f"<style>{_STYLESHEET}</style>"
    f'<img src="data:," alt="" style="display:none" onerror="{html.escape(_KEY_HANDLER, quote=True)}">'
)


def text_field(value: str, placeholder: str, width: str, css_class: str) -> widgets.Text:
    """A one-line text box with a placeholder and a CSS class."""
    text = widgets.Text(value=value, placeholder=placeholder, layout=widgets.Layout(width=width))
    text.add_class(css_class)
    return text


def html_view(value: str, css_class: str) -> widgets.HTML:
    """An HTML widget with a CSS class."""
    view = widgets.HTML(value)
    view.add_class(css_class)
    return view


def button(
    description: str,
    css_class: str,
    on_click: Callable[[widgets.Button], None],
    *,
    style: str = "",
    width: str = "auto",
) -> widgets.Button:
    """A button with a CSS class and its click handler."""
    view = widgets.Button(description=description, button_style=style, layout=widgets.Layout(width=width))
    view.add_class(css_class)
    view.on_click(on_click)
    return view


def row(children: Sequence[widgets.Widget]) -> widgets.HBox:
    """A horizontal row that wraps on narrow screens."""
    return widgets.HBox(list(children), layout=widgets.Layout(flex_flow="row wrap", align_items="center"))


def error_html(message: str) -> str:
    """A short error message for a note widget (escaped)."""
    return f"<span class='lihil-note-error'>{html.escape(message)}</span>" if message else ""
