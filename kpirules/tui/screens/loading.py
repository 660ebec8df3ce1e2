"""Shown at once while the policy is checked and evaluated in a worker."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Label, LoadingIndicator, ProgressBar


class LoadingScreen(Screen):
    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Middle(), Center(id="loading-box"):
            yield Label(f"[b]kpirules[/] · {self.what}", id="loading-what")
            yield LoadingIndicator()
            yield Label("starting", id="loading-stage")
            yield ProgressBar(total=None, show_eta=False, id="loading-progress")
        yield Footer()

    def progress(self, stage: str, done: int, total: int) -> None:
        self.query_one("#loading-stage", Label).update(stage)
        bar = self.query_one(ProgressBar)
        if stage == "evaluating":
            bar.update(total=total, progress=done)
