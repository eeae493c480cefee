"""What changed between two policy texts, as a structure a template renders.

The texts are Markdown. They are compared block by block (paragraphs, headings,
list items), as a reader sees them: inline markup (``**``, links) is dropped, so
a change of emphasis alone is not reported. A changed block gets an inline diff
by word, or by character for Chinese, where a "word" is a single ideograph.

Everything here is plain text: the template escapes it like any other value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

# Ideographs, kana, CJK punctuation and full-width forms: one token each.
_CJK = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
)
TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|\s+|[^\w\s]", re.UNICODE)

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+")
_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*\*|__|`)")

# Blocks at least this similar are shown as one changed block with an inline diff;
# below it, as one removed and one added block.
SIMILAR = 0.5
# How far ahead a removed block looks for the added block it became.
LOOKAHEAD = 6


@dataclass(frozen=True)
class Block:
    kind: str  # "heading", "item" or "paragraph"
    text: str


@dataclass(frozen=True)
class Segment:
    op: str  # "equal", "delete" or "insert"
    text: str


@dataclass(frozen=True)
class Row:
    """One line of the diff: a block as it stands, or a run of hidden unchanged blocks."""

    op: str  # "same", "removed", "added", "changed" or "skipped"
    kind: str = "paragraph"
    segments: tuple[Segment, ...] = ()
    skipped: int = 0


@dataclass(frozen=True)
class TextDiff:
    rows: tuple[Row, ...] = field(default_factory=tuple)
    added: int = 0
    removed: int = 0
    changed: int = 0

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def tokenise(text: str) -> list[str]:
    """Latin words whole, CJK characters one by one, spaces and punctuation on their own."""
    return TOKEN_RE.findall(text)


def _plain(text: str) -> str:
    text = _LINK_RE.sub(r"\1", text)
    return _EMPHASIS_RE.sub("", text)


def blocks(markdown: str) -> list[Block]:
    """Split Markdown into the blocks a reader sees, in plain text."""
    result: list[Block] = []
    for chunk in re.split(r"\n[ \t]*\n", (markdown or "").replace("\r\n", "\n")):
        # A list is one Markdown block but each item reads as its own paragraph.
        items: list[list[str]] = []
        for line in chunk.split("\n"):
            if not line.strip():
                continue
            if _ITEM_RE.match(line) or not items:
                items.append([line])
            else:
                items[-1].append(line)
        for lines in items:
            first = lines[0].strip()
            heading = _HEADING_RE.match(first) if len(lines) == 1 else None
            if heading:
                result.append(Block("heading", _plain(heading.group(2))))
                continue
            kind = "item" if _ITEM_RE.match(lines[0]) else "paragraph"
            lines = [_ITEM_RE.sub("", lines[0], count=1), *lines[1:]]
            result.append(Block(kind, _plain(" ".join(line.strip() for line in lines))))
    return result


def _similarity(a: str, b: str) -> float:
    matcher = SequenceMatcher(None, tokenise(a), tokenise(b), autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR or matcher.quick_ratio() < SIMILAR:
        return 0.0
    return matcher.ratio()


def inline_diff(old: str, new: str) -> tuple[Segment, ...]:
    """Token-level diff of two strings: equal, deleted and inserted runs in reading order."""
    a, b = tokenise(old), tokenise(new)
    segments: list[Segment] = []

    def emit(op: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if segments and segments[-1].op == op:
            segments[-1] = Segment(op, segments[-1].text + text)
        else:
            segments.append(Segment(op, text))

    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            emit("equal", a[i1:i2])
        else:
            emit("delete", a[i1:i2])
            emit("insert", b[j1:j2])
    return tuple(segments)


def _align(old: list[Block], new: list[Block]) -> list[tuple[str, Block | None, Block | None]]:
    """Pair up the blocks of a replaced region: changed pairs, plus removed and added ones."""
    out: list[tuple[str, Block | None, Block | None]] = []
    i = j = 0
    while i < len(old) and j < len(new):
        if _similarity(old[i].text, new[j].text) >= SIMILAR:
            out.append(("changed", old[i], new[j]))
            i += 1
            j += 1
        elif any(
            _similarity(old[i].text, new[k].text) >= SIMILAR
            for k in range(j + 1, min(len(new), j + 1 + LOOKAHEAD))
        ):
            out.append(("added", None, new[j]))
            j += 1
        else:
            out.append(("removed", old[i], None))
            i += 1
    out.extend(("removed", block, None) for block in old[i:])
    out.extend(("added", None, block) for block in new[j:])
    return out


def _collapse(rows: list[Row], context: int) -> list[Row]:
    """Keep ``context`` unchanged blocks around each change; fold the rest into one row."""
    result: list[Row] = []
    run: list[Row] = []

    def flush(at_start: bool, at_end: bool) -> None:
        keep_before = 0 if at_start else context
        keep_after = 0 if at_end else context
        if len(run) <= keep_before + keep_after + 1:
            result.extend(run)
        else:
            result.extend(run[:keep_before])
            result.append(Row("skipped", skipped=len(run) - keep_before - keep_after))
            if keep_after:
                result.extend(run[-keep_after:])
        run.clear()

    seen_change = False
    for row in rows:
        if row.op == "same":
            run.append(row)
            continue
        flush(at_start=not seen_change, at_end=False)
        seen_change = True
        result.append(row)
    if seen_change:
        flush(at_start=False, at_end=True)
    else:
        flush(at_start=True, at_end=True)
    return result


def diff_texts(old: str, new: str, *, context: int = 2) -> TextDiff:
    """Compare two Markdown texts block by block, with inline diffs for changed blocks."""
    a, b = blocks(old), blocks(new)
    rows: list[Row] = []
    counts = {"added": 0, "removed": 0, "changed": 0}
    matcher = SequenceMatcher(None, [x.text for x in a], [x.text for x in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(
                Row("same", block.kind, (Segment("equal", block.text),)) for block in b[j1:j2]
            )
            continue
        for op, before, after in _align(a[i1:i2], b[j1:j2]):
            counts[op] += 1
            if op == "changed":
                rows.append(Row(op, after.kind, inline_diff(before.text, after.text)))
            elif op == "removed":
                rows.append(Row(op, before.kind, (Segment("delete", before.text),)))
            else:
                rows.append(Row(op, after.kind, (Segment("insert", after.text),)))
    return TextDiff(rows=tuple(_collapse(rows, context)), **counts)
