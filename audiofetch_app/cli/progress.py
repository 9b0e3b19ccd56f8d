"""Progress on a terminal: one redrawn bar on a TTY, plain occasional lines otherwise."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from audiofetch_app.core.job_record import Job
from audiofetch_app.core.units import describe_progress as describe


class ProgressPrinter:
    """Feed it job snapshots; it draws at most ten times a second (a line every 5 s off a TTY)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._drawn = False
        self._unshown: Job | None = None  # the newest snapshot not yet written (off a TTY)

    def update(self, job: Job) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        interval = 0.1 if self.tty else 5.0
        if now - self._last < interval:
            self._unshown = job
            return
        self._last = now
        self._unshown = None
        fraction = job.progress
        text = "  ".join(part for part in (describe(job), job.status) if part)  # a wait says so
        if self.tty:
            width = shutil.get_terminal_size((80, 20)).columns
            bar_width = max(10, min(40, width - len(text) - 10))
            filled = int(bar_width * (fraction or 0))
            pct = f"{fraction * 100:5.1f}%" if fraction is not None else "  ...."
            line = f"[{'#' * filled}{'-' * (bar_width - filled)}] {pct} {text}"
            self.stream.write("\r" + line[: width - 1].ljust(width - 1))
            self._drawn = True
        else:
            pct = f"{fraction * 100:.0f}% " if fraction is not None else ""
            line = f"{pct}{text}".strip()
            if not line:  # nothing known yet (a job still starting): no empty line
                return
            self.stream.write(f"{line}\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the bar (on a TTY), or write the last snapshot held back (off a TTY), so a
        log of the run always ends with where the job got to."""
        if self._unshown is not None and not self.tty:
            self._last = 0.0
            self.update(self._unshown)
        if self._drawn and self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
