"""Progress of a batch run on stderr: a bar on a terminal, a log line now and then
otherwise, nothing when asked for quiet."""

from __future__ import annotations

import sys
import time
from typing import TextIO

MODES = ("auto", "bar", "log", "none")


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Rows done, rows/s and the time left (estimated from the share of input bytes read).

    ``mode``: ``bar`` redraws one line (at most five times a second), ``log`` writes a
    line every ``interval`` seconds, ``auto`` picks ``bar`` when the stream is a terminal.
    """

    def __init__(self, total_bytes: int, *, mode: str = "auto", stream: TextIO | None = None,
                 interval: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "log"
        self.mode = mode
        self.total = max(total_bytes, 1)
        self.interval = interval
        self.started = time.perf_counter()
        self.rows = 0
        self.skipped = 0  # rows finished by an earlier run
        self.bytes = 0
        self._last = 0.0
        self._drawn = False

    def update(self, rows: int, bytes_done: int, *, skipped: int = 0) -> None:
        self.rows += rows
        self.skipped += skipped
        self.bytes = max(self.bytes, min(bytes_done, self.total))
        now = time.perf_counter()
        wait = 0.2 if self.mode == "bar" else self.interval
        if self.mode != "none" and now - self._last >= wait:
            self._last = now
            self._show(now)

    def _show(self, now: float) -> None:
        elapsed = now - self.started
        rate = self.rows / elapsed if elapsed > 0 else 0.0
        share = self.bytes / self.total
        eta = elapsed * (1 - share) / share if share > 0.001 and self.rows else None
        left = f"ETA {_clock(eta)}" if eta is not None else "ETA ?"
        done = self.rows + self.skipped
        if self.mode == "bar":
            width = 24
            filled = int(width * share)
            line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {share:4.0%}  {done:,} rows  "
                    f"{rate:,.0f} rows/s  {left}  ")
            self.stream.write(line)
            self._drawn = True
        else:
            self.stream.write(f"classify: {done:,} rows ({share:.0%} of the input), "
                              f"{rate:,.0f} rows/s, {left}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.mode == "bar" and self._drawn:
            self._show(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()
