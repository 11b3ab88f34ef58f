"""How the console looks, plus builders for its styled widgets.

``ASSETS_HTML`` goes into one HTML widget per console and route card. It carries the stylesheet, scoped to
``lihil-*`` classes and using JupyterLab's theme variables where they exist; a plain ``<style>`` works in every
front end and in static exports. The console's behaviour in the page (log pinning, keys, disconnects) is in
:mod:`.front`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import ipywidgets as widgets

#: Enter in a compose box appends this invisible separator (see ``static/console.js``); the kernel side splits
#: the compose value on it.
SUBMIT_MARK = "\u2063"

_STYLESHEET = """
.lihil-console, .lihil-route-card { border: 1px solid var(--jp-border-color2, #ddd); border-radius: 4px;
  padding: 4px 6px; }
.lihil-console-sessions { gap: 8px; }
.lihil-console-session { flex: 1 1 250px; min-width: 250px; border: 1px solid var(--jp-border-color2, #ddd);
  border-radius: 4px; padding: 4px; }
.lihil-console-session-header { gap: 2px; }
.lihil-console-session { container-type: inline-size; }
/* A narrow session (two side by side at 1000 px): name, status and ⋯ on one line, target and Connect on the next;
   the composer stays one line; the log leaves out the size column. */
@container (max-width: 430px) {
  .lihil-console-session-header .lihil-console-menu-button { order: 1; margin-left: auto; }
  .lihil-console-session-header .lihil-console-target, .lihil-console-session-header .lihil-console-connect {
    order: 2; }
  .lihil-console-composer { flex-wrap: nowrap; }
  .lihil-console-composer .lihil-console-input { min-width: 0; }
  .lihil-log-size { display: none; }
}
.lihil-console-session-header .lihil-console-connect, .lihil-console-menu-button,
.lihil-console-composer .lihil-console-send { flex: 0 0 auto; }
.lihil-console-session-header .lihil-console-status { flex: 0 1 auto; min-width: 0; max-width: 45%;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.lihil-console-session-header .lihil-console-status .widget-html-content { white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.lihil-console-session-header .lihil-console-target { min-width: 100px; }
.lihil-console-menu { border: 1px solid var(--jp-border-color2, #ddd); border-radius: 4px; padding: 2px 4px;
  margin: 2px 0; background: var(--jp-layout-color1, #fafafa); }
.lihil-console-menu-label { min-width: 9em; }
.lihil-console-bar, .lihil-console-details { gap: 2px; }
.lihil-console-new-target { font-size: 12px; color: var(--jp-ui-font-color2, #666); }
.lihil-console-undo { background: var(--jp-layout-color2, #f5f5f5); border-radius: 4px; padding: 0 6px; }
.lihil-console-saved-list { gap: 4px; padding: 2px 0; }
.lihil-console-saved-list:empty { display: none; }
button.lihil-console-saved { border-radius: 12px; padding: 0 10px; height: 22px; font-size: 12px;
  background: var(--jp-layout-color2, #eef3fd); border: 1px solid var(--jp-brand-color2, #8ab4f8);
  color: var(--jp-ui-font-color1, #1a1a1a); }
button.lihil-console-saved::before { content: "↻ "; color: var(--jp-brand-color1, #1a73e8); }
.lihil-console-direction, .lihil-console-frames, .lihil-console-clear, .lihil-console-export, .lihil-console-ping,
.lihil-console-remove { padding: 0 8px; }
.lihil-console-label { color: var(--jp-ui-font-color2, #666); padding: 0 4px; }
.lihil-console-status, .lihil-console-url, .lihil-console-form-target { padding: 0 6px; }
.lihil-url { user-select: all; }
.lihil-copy { font-size: 11px; padding: 0 6px; cursor: pointer; }
.lihil-console-log { border: 1px solid var(--jp-border-color3, #eee); background: var(--jp-layout-color0, #fff);
  min-height: 240px; height: 280px; }
.lihil-log-chunk, .lihil-log-chunk .widget-html-content { width: 100%; margin: 0; }
.lihil-log-row { display: flex; gap: 8px; align-items: baseline; line-height: 1.35; padding: 1px 4px;
  border-bottom: 1px solid var(--jp-border-color3, #f0f0f0);
  font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.lihil-log-time, .lihil-log-size { color: var(--jp-ui-font-color2, #888); white-space: nowrap; }
.lihil-log-size { min-width: 4.5em; text-align: right; }
.lihil-log-opcode { color: #8430ce; white-space: nowrap; min-width: 6.5em; }
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
.lihil-status-done { color: var(--jp-ui-font-color2, #666); }
.lihil-status-stale { color: #b06000; font-weight: bold; }
.lihil-note-error { color: #c5221f; }
.lihil-console-note:empty, .lihil-console-notice:empty { display: none; }
.lihil-console-front { display: none; }
.lihil-console-sparkline .widget-html-content { display: flex; gap: 6px; align-items: center; font-size: 11px;
  color: var(--jp-ui-font-color2, #666); }
.lihil-sparkline { background: var(--jp-layout-color2, #f5f5f5); border-radius: 2px; }
.lihil-console-search-results, .lihil-console-search-results .widget-html-content { height: auto;
  line-height: 1.4; }
.lihil-console-search-results:empty, .lihil-console-search-results .widget-html-content:empty { display: none; }
.lihil-search-result { font-size: 12px; padding: 2px 4px; border-bottom: 1px solid var(--jp-border-color3, #eee); }
.lihil-search-copy { padding-left: 2em; color: var(--jp-ui-font-color2, #666); }
.lihil-search-head { font-weight: bold; padding: 2px 4px; }
.lihil-console-download { color: var(--jp-content-link-color, #1a73e8); text-decoration: underline; }
.lihil-console-new { position: sticky; bottom: 4px; align-self: center; flex: 0 0 auto; margin-top: -28px;
  padding: 2px 12px; border-radius: 12px; border: 1px solid var(--jp-brand-color1, #1a73e8); cursor: pointer;
  background: var(--jp-brand-color1, #1a73e8); color: #fff; font-size: 12px; box-shadow: 0 1px 4px rgba(0,0,0,.3); }
.lihil-console-new[hidden] { display: none; }
.lihil-console-disconnected .lihil-console-session { opacity: 0.6; }
/* One banner says it; not JupyterLab's broken-link icon on every part. */
.lihil-console-disconnected.jupyter-widgets-disconnected::before,
.lihil-console-disconnected .jupyter-widgets-disconnected::before { content: none; display: none; }
.lihil-status-disconnected { color: #c5221f; font-weight: bold; }
.lihil-console-banner { color: #c5221f; font-weight: bold; padding: 4px 6px; }
.lihil-status-refused { color: #c5221f; font-weight: bold; }
.lihil-log-kind-separator { color: var(--jp-ui-font-color2, #666); border-top: 2px solid var(--jp-border-color1, #bbb);
  text-align: center; }
.lihil-log-hub-error, .lihil-log-hub-error > pre.lihil-log-data { color: #c5221f; }
.lihil-console-hub { border-top: 1px dashed var(--jp-border-color2, #ddd); padding-top: 2px; }
.lihil-console-hub-topics { gap: 4px; }
.lihil-console-hub-chip { border-radius: 12px 0 0 12px; padding: 0 8px; font-size: 12px; margin-right: 0; }
.lihil-console-hub-exit { border-radius: 0 12px 12px 0; padding: 0 6px; font-size: 12px; margin-left: 0; }
.lihil-console-hub { border-bottom: 1px dashed var(--jp-border-color2, #ddd); padding-bottom: 2px; }
"""

#: One per console and route card: the stylesheet.
ASSETS_HTML = f"<style>{_STYLESHEET}</style>"


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
