"""Label–value pairs that flow into as many lines as the width needs: one line on a
wide terminal, a few on a narrow one, never cut and never a sideways scroll."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

GAP = "   "


class FlowCard(Widget):
    DEFAULT_CSS = "FlowCard { height: auto; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.groups: list[list[tuple[str, Text]]] = []  # each group starts a new line

    def show(self, groups: list[list[tuple[str, Text]]]) -> None:
        self.groups = groups
        self.refresh(layout=True)

    def lines(self, width: int) -> list[Text]:
        out: list[Text] = []
        for group in self.groups:
            line = Text()
            for label, value in group:
                pair = Text.assemble((label, "dim"), " " if label else "", value)
                if line.cell_len and line.cell_len + len(GAP) + pair.cell_len > width:
                    out.append(line)
                    line = Text()
                line.append(GAP if line.cell_len else "")
                line.append_text(pair)
            out.append(line)
        return out

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self.lines(width)))

    def render(self) -> Text:
        return Text("\n").join(self.lines(self.content_region.width or 10_000))
