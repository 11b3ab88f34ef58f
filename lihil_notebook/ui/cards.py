"""``route_card``: what a route cell displays — a :class:`~.route_card.RouteCard` that opens a
:func:`~.console.console` for its route (kept apart so neither of those two modules imports the other)."""

from __future__ import annotations

from ..playground import Playground
from .console import console
from .route_card import RouteCard


def route_card(pg: Playground, path: str) -> RouteCard:
    """The output of a ``%%ws_route`` / ``%%route`` cell: the route's state, URL and parameters, and (for a
    WebSocket route) an "Open console" button that shows a console for it underneath.

    Re-running the cell replaces the card: the previous card of the same path is closed with all its widgets
    (without that, every re-run left a card's worth of widget models alive in the kernel)."""
    key = (id(pg), path)
    previous = _route_cards.pop(key, None)
    if previous is not None:
        previous.close()
    card = _route_cards[key] = RouteCard(pg, path, open_console=lambda route_path: console(route_path, playground=pg))
    return card


_route_cards: dict[tuple[int, str], RouteCard] = {}
