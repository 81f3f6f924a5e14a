"""The batch progress bar on a terminal's stderr: files done of all, the file being converted."""

from __future__ import annotations

from ..io.safe_text import escaped

CURRENT_WIDTH = 60  # characters of the current file's path shown (its end)


class BatchProgress:
    """A rich progress bar; `start(total)`, `begin(path)`, `done(record)`, `stop()`."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("converting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[current]}", markup=False),
            console=Console(stderr=True),
            transient=True,
        )
        self.task = None
        self.running: list[str] = []

    def start(self, total: int) -> None:
        self.task = self.progress.add_task("converting", total=total, current="")
        self.progress.start()

    def begin(self, path: str) -> None:
        self.running.append(path)
        self._show()

    def done(self, rec: dict) -> None:
        if rec["path"] in self.running:
            self.running.remove(rec["path"])
        self.progress.update(self.task, advance=1)
        self._show()
        if rec["status"] == "failed":
            self.progress.console.print(f"FAILED {escaped(rec['path'])}", markup=False, highlight=False)

    def _show(self) -> None:
        current = escaped(self.running[-1]) if self.running else ""
        if len(current) > CURRENT_WIDTH:
            current = "…" + current[-(CURRENT_WIDTH - 1) :]
        more = f" (+{len(self.running) - 1})" if len(self.running) > 1 else ""
        self.progress.update(self.task, current=current + more)

    def stop(self) -> None:
        self.progress.stop()
