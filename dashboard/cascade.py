"""A validator post's cascade as a Graphviz DOT picture: a pure function, no warehouse here.

Who passed the post on is what staff want to see, so each box is an author with their audience;
reshares are solid arrows (they push the post to the resharer's followers), replies dashed
(they do not). Levels run left to right, so the depth of the cascade reads as its width.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

NodeKind = Literal["root", "reshare", "reply"]

ROOT_FILL = "#1d4ed8"
RESHARE_FILL = "#dbeafe"
REPLY_FILL = "#f3f4f6"


@dataclass(frozen=True)
class CascadeNode:
    event_id: str
    parent_id: str | None
    author: str
    audience: int
    kind: NodeKind
    depth: int


def compact(n: int) -> str:
    """12 -> '12', 3400 -> '3.4k', 2100000 -> '2.1M' (audiences in a small box)."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + suffix
    return str(n)


def _quote(text: str) -> str:
    # DOT string: escape backslashes and quotes; a newline becomes DOT's own \n escape.
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def cascade_dot(nodes: list[CascadeNode], max_children: int = 12) -> str:
    """DOT for the tree of ``nodes`` (the root first).

    A parent with more than ``max_children`` children shows the first ones and one "+N more"
    box, so a broadcast to hundreds stays a readable picture instead of a wall of boxes.
    """
    lines = [
        "digraph cascade {",
        "  rankdir=LR;",
        '  graph [bgcolor="transparent", nodesep=0.15, ranksep=0.5];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, '
        'color="#9ca3af", fillcolor="' + RESHARE_FILL + '"];',
        '  edge [color="#6b7280", arrowsize=0.6];',
    ]
    if not nodes:
        lines.append('  empty [label="No posts found", shape=plaintext, style=""];')
        return "\n".join([*lines, "}"])
    children: dict[str, list[CascadeNode]] = defaultdict(list)
    for node in nodes[1:]:
        if node.parent_id is not None:
            children[node.parent_id].append(node)

    def draw(node: CascadeNode) -> None:
        label = f"@{node.author.lstrip('@')}\n{compact(node.audience)} followers"
        attrs = [f"label={_quote(label)}"]
        if node.kind == "root":
            attrs += [f'fillcolor="{ROOT_FILL}"', 'fontcolor="white"', "penwidth=0"]
        elif node.kind == "reply":
            attrs.append(f'fillcolor="{REPLY_FILL}"')
        lines.append(f"  {_quote(node.event_id)} [{', '.join(attrs)}];")
        kids = children.get(node.event_id, [])
        for kid in kids[:max_children]:
            style = " [style=dashed]" if kid.kind == "reply" else ""
            lines.append(f"  {_quote(node.event_id)} -> {_quote(kid.event_id)}{style};")
            draw(kid)
        hidden = len(kids) - max_children
        if hidden > 0:
            more = f"{node.event_id}+more"
            lines.append(f'  {_quote(more)} [label="+{hidden} more", shape=plaintext, style=""];')
            lines.append(f"  {_quote(node.event_id)} -> {_quote(more)} [style=dotted];")

    draw(nodes[0])
    return "\n".join([*lines, "}"])


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 reshare', '3 reshares', '1 person', '2 people'."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def summary(nodes: list[CascadeNode]) -> str:
    """'14 posts: 11 reshares by 9 people, 2 replies, 3 hops deep' for the caption."""
    if not nodes:
        return "No posts found."
    reshares = [n for n in nodes if n.kind == "reshare"]
    replies = sum(1 for n in nodes if n.kind == "reply")
    people = len({n.author for n in reshares} - {nodes[0].author})
    depth = max(n.depth for n in nodes)
    return (
        f"{plural(len(nodes), 'post')}: {plural(len(reshares), 'reshare')} by "
        f"{plural(people, 'person', 'people')}, {plural(replies, 'reply', 'replies')}, "
        f"{plural(depth, 'hop')} deep"
    )
