"""An explanation (a `kpirules.trace.Step` tree) as an expandable Textual Tree."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from kpirules.trace import SHOWN_DETAILS, Step

OPEN_DEPTH = 1  # levels open at first; the rest a keypress away


def step_label(step: Step) -> Text:
    label = Text(step.title)
    if step.title.endswith(": not fired"):
        label.stylize("yellow", len(step.title) - len("not fired"))
    elif step.title.endswith(": fired"):
        label.stylize("green", len(step.title) - len("fired"))
    if step.at:
        label.append(f"  {step.at}", style="dim")
    return label


class TraceTree(Tree[Step]):
    def show(self, step: Step, focus: str | None = None) -> None:
        """Draw the derivation; open and select the first step whose title starts with
        `focus` (a payout, an action) so the answer is on screen at once."""
        self.clear()
        self.root.set_label(step_label(step))
        self.root.data = step
        target: TreeNode | None = None
        # Explicit stack: traces are shallow, but never recurse on user-shaped input.
        stack: list[tuple[TreeNode, Step, int]] = [(self.root, step, 0)]
        while stack:
            node, current, depth = stack.pop()
            for key in SHOWN_DETAILS:
                if key in current.detail:
                    node.add_leaf(
                        Text.assemble(
                            (f"{key.replace('_', ' ')}: ", "dim italic"), str(current.detail[key])
                        )
                    )
            if current.detail.get("recomputes") is False:
                node.add_leaf(Text("! does not recompute to the engine's result", style="bold red"))
            children = []
            for child in current.children:
                has_more = bool(child.children) or any(k in child.detail for k in SHOWN_DETAILS)
                branch = node.add(step_label(child), data=child, allow_expand=has_more)
                if not has_more:
                    branch.allow_expand = False
                children.append((branch, child, depth + 1))
                if target is None and focus and child.title.startswith(focus):
                    target = branch
            stack.extend(reversed(children))
        self.root.expand()
        for node, _, depth in self._walk():
            if depth <= OPEN_DEPTH:
                node.expand()
        if target is not None:
            parent = target
            while parent is not None:
                parent.expand()
                parent = parent.parent
            self.call_after_refresh(self._select, target)

    def _select(self, node: TreeNode) -> None:
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)

    def _walk(self):
        stack = [(self.root, 0)]
        while stack:
            node, depth = stack.pop()
            yield node, node.data, depth
            stack.extend((child, depth + 1) for child in node.children)
