"""A session's traffic at a glance: messages per second and bytes per second over the last minute, as a small SVG
sparkline (CSS class ``lihil-console-sparkline``) with the current rates beside it.

:meth:`Sparkline.count` runs on the server loop for each message (an add to the current one-second bucket);
:meth:`Sparkline.render` runs in the console's UI pump. Bounded: ``seconds`` buckets.
"""

from __future__ import annotations

import threading
from collections import deque

from .log_view import format_size

SECONDS = 60
"""Default number of one-second buckets a sparkline draws."""

_WIDTH, _HEIGHT = 120, 22


class Sparkline:
    """Messages and bytes per one-second bucket, the last ``seconds`` of them."""

    def __init__(self, *, seconds: int = SECONDS) -> None:
        if seconds < 2:
            raise ValueError(f"sparkline seconds: expected at least 2, got {seconds}")
        self.seconds = seconds
        self._buckets: deque[list[int]] = deque(maxlen=seconds)  # [second, messages, bytes]
        self._lock = threading.Lock()

    def count(self, at: float, size: int) -> None:
        """One message of ``size`` bytes at time ``at`` (seconds since the epoch)."""
        second = int(at)
        with self._lock:
            if self._buckets and self._buckets[-1][0] == second:
                self._buckets[-1][1] += 1
                self._buckets[-1][2] += size
            else:
                self._buckets.append([second, 1, size])

    def series(self, now: float) -> tuple[list[int], list[int]]:
        """(messages, bytes) per second for the ``seconds`` seconds up to ``now``, oldest first, zeros filled."""
        end = int(now)
        start = end - self.seconds + 1
        messages, sizes = [0] * self.seconds, [0] * self.seconds
        with self._lock:
            for second, count, size in self._buckets:
                if start <= second <= end:
                    messages[second - start] += count
                    sizes[second - start] += size
        return messages, sizes

    def render(self, now: float) -> str:
        """The sparkline SVG and the last full second's rates, as HTML."""
        messages, sizes = self.series(now)
        if not any(messages):
            return ""
        rate, volume = messages[-2], sizes[-2]  # the last complete second
        return (f"{_svg(messages, '#1a73e8', 'messages')}{_svg(sizes, '#188038', 'bytes')}"
                f"<span class='lihil-sparkline-rate' title='the last full second; the peak of the last "
                f"{self.seconds} s'>{rate} msg/s · {format_size(volume)}/s · peak {max(messages)} msg/s</span>")


def _svg(values: list[int], color: str, what: str) -> str:
    top = max(values) or 1
    step = _WIDTH / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{_HEIGHT - 1 - (v / top) * (_HEIGHT - 2):.1f}" for i, v in enumerate(values))
    return (f'<svg class="lihil-sparkline lihil-sparkline-{what}" width="{_WIDTH}" height="{_HEIGHT}" '
            f'viewBox="0 0 {_WIDTH} {_HEIGHT}"><title>{what} per second, peak {top}</title>'
            f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/></svg>')
