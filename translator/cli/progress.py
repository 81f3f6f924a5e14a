"""Progress on stderr while a command runs: its phases, counts and elapsed time, on a terminal only.

A command makes one with `progress_for` and hands it on (the compiler takes it as `progress`):
`phase(name, total, unit)` starts a phase (ending the one before), `advance()` counts a step of it,
`detail(text)` says what the phase did. Each phase ends with one line (name, count, seconds); the live
bar goes when the command ends, so a terminal keeps the phase lines and then the summary.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

PROGRESS_HELP = "Show phases and elapsed time on stderr (default: when stderr is a terminal; FW2NP_PROGRESS=1/0)."


def progress_option():
    """--progress/--no-progress (parameter `progress`; None: decided by whether stderr is a terminal)."""
    import click

    return click.option(
        "--progress/--no-progress", "progress", default=None, envvar="FW2NP_PROGRESS", help=PROGRESS_HELP
    )


def progress_for(quiet: bool = False, force: bool | None = None):
    """A live display when stderr is a terminal (FORCE decides instead when not None); -q: none."""
    if quiet or not (sys.stderr.isatty() if force is None else force):
        return Silent()
    return Live()


class Silent:
    """Progress that shows nothing."""

    def phase(self, name: str, total: int | None = None, unit: str = "") -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def detail(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass

    @contextmanager
    def hold(self):
        """The live line off while the block writes to stdout (a terminal may show both)."""
        yield

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Live(Silent):
    """A rich progress line on stderr; a finished phase leaves one line above it."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.text import Text

        class Count(ProgressColumn):
            """'412/1030 pod classes' when the phase's total is known, else nothing."""

            def render(self, task):
                unit = f" {task.fields['unit']}" if task.fields["unit"] else ""
                return Text(f"{int(task.completed)}/{int(task.total)}{unit}" if task.total is not None else "")

        console = Console(file=sys.stderr, force_terminal=True, highlight=False)
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),  # the line fits 80 columns
            Count(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            refresh_per_second=4,
            redirect_stdout=False,  # the output: never into the console (stderr)
        )
        self.bar.start()
        self.start = time.monotonic()
        self.task = None
        self.name, self.unit, self.total, self.note, self.began = "", "", None, "", 0.0

    def phase(self, name: str, total: int | None = None, unit: str = "") -> None:
        self._end()
        self.name, self.unit, self.total, self.note, self.began = name, unit, total, "", time.monotonic()
        self.task = self.bar.add_task(name, total=total, unit=unit)

    def advance(self, n: int = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, n)

    def detail(self, text: str) -> None:
        self.note = text

    def _end(self) -> None:
        if self.task is None:
            return
        done = int(next(t.completed for t in self.bar.tasks if t.id == self.task))
        self.bar.remove_task(self.task)
        self.task = None
        count = f"{done}/{self.total} {self.unit}".rstrip() if self.total is not None else ""
        what = ", ".join(x for x in (count, self.note) if x)
        now = time.monotonic()
        took = f"{now - self.began:.1f} s ({now - self.start:.1f} s in all)"
        self.bar.console.print(f"fw2np: {self.name}: {what + ', ' if what else ''}{took}", markup=False)

    @contextmanager
    def hold(self):
        self.bar.stop()  # transient: the live line is cleared
        try:
            yield
        finally:
            self.bar.start()

    def close(self) -> None:
        self._end()
        self.bar.stop()
