"""The one progress display of the command line: a bar with a label, done/total and elapsed time.

Long work reports through it: publishing (objects), ingesting atoms (items), loading a model
(bytes). It is transient: the bar disappears when the work ends, and what the work prints
meanwhile stays above it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, \
    TimeElapsedColumn


class ProgressBar:
    def __init__(self, progress: Progress, task):
        self._progress, self._task = progress, task

    def update(self, done: int, total: int | None = None) -> None:
        """`done` of `total` units (total None: keep the one known)."""
        if total is None:
            self._progress.update(self._task, completed=done)
        else:
            self._progress.update(self._task, completed=done, total=total)

    def advance(self, steps: int = 1) -> None:
        self._progress.advance(self._task, steps)

    def describe(self, text: str) -> None:
        self._progress.update(self._task, description=escape(text))

    def print(self, text: str) -> None:
        """A line above the bar (markup is not interpreted)."""
        self._progress.console.print(text, markup=False, soft_wrap=True)


@contextmanager
def progress_bar(console: Console, label: str, total: int | None = None, *, percent: bool = False) \
        -> Iterator[ProgressBar]:
    """`percent`: show a percentage instead of done/total (bytes)."""
    count = TaskProgressColumn() if percent else MofNCompleteColumn()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), count, TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        yield ProgressBar(progress, progress.add_task(escape(label), total=total))
