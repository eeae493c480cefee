"""Search through the help topics and the privacy policy in force."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .topics import TOPICS, HelpTopic

QUERY_MAX = 100
POLICY_RESULTS_MAX = 20
# Characters of context kept either side of the first match in a long paragraph.
EXCERPT_CONTEXT = 120
EXCERPT_SNAP = 20


# --- the policy, as searchable blocks ---------------------------------------------------


@dataclass(frozen=True)
class PolicyBlock:
    # Headings the block sits under, outermost first (the document title left out).
    headings: tuple[str, ...]
    text: str


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_INLINE = (
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images: their text
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),  # emphasis
    (re.compile(r"`([^`]*)`"), r"\1"),  # code
    (re.compile(r"^>\s?"), ""),  # quote
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!])"), r"\1"),  # escapes
)


def _plain(markdown: str) -> str:
    for pattern, replacement in _INLINE:
        markdown = pattern.sub(replacement, markdown)
    return " ".join(markdown.split())


@functools.lru_cache(maxsize=16)
def policy_blocks(body: str) -> tuple[PolicyBlock, ...]:
    """Paragraphs and list items of a policy text, plain, each with its section headings.

    Cached by the text itself, so a new version or language is parsed once.
    """
    blocks: list[PolicyBlock] = []
    headings: dict[int, str] = {}
    lines: list[str] = []

    def flush() -> None:
        text = _plain(" ".join(lines))
        lines.clear()
        if text:
            trail = tuple(headings[level] for level in sorted(headings) if level > 1)
            blocks.append(PolicyBlock(headings=trail, text=text))

    for line in body.splitlines():
        stripped = line.strip()
        heading = _HEADING.match(stripped)
        if not stripped:
            flush()
        elif heading:
            flush()
            level = len(heading[1])
            headings = {k: v for k, v in headings.items() if k < level}
            headings[level] = _plain(heading[2])
        elif _LIST_ITEM.match(line):
            flush()
            lines.append(_LIST_ITEM.sub("", line, count=1))
        else:
            lines.append(stripped)
    flush()
    return tuple(blocks)


# --- search ---------------------------------------------------------------------------


def query_normalise(raw: str) -> tuple[str, bool]:
    """The query as searched: one line, no control characters, at most QUERY_MAX long.

    Returns it and whether it had to be shortened.
    """
    text = "".join(ch for ch in raw if unicodedata.category(ch) != "Cc" or ch.isspace())
    text = " ".join(text.split())
    return text[:QUERY_MAX], len(text) > QUERY_MAX


def highlight(text: str, pattern: re.Pattern) -> SafeString:
    """``text`` escaped, with every match of ``pattern`` in <mark>."""
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(text[last : match.start()])
        parts.append(format_html("<mark>{}</mark>", match.group()))
        last = match.end()
    parts.append(text[last:])
    # Plain parts are escaped here; the <mark> parts are already safe.
    return format_html_join("", "{}", ((part,) for part in parts))


def excerpt(text: str, pattern: re.Pattern, context: int = EXCERPT_CONTEXT) -> str:
    """A long text cut down to the surroundings of its first match (or its start)."""
    if len(text) <= 2 * context + QUERY_MAX:
        return text
    match = pattern.search(text)
    start, end = (match.start(), match.end()) if match else (0, 0)
    begin = max(0, start - context)
    finish = min(len(text), max(end + context, begin + 2 * context))
    # Cut between words where there are spaces to cut at (Chinese has none).
    if begin:
        space = text.find(" ", begin, start)
        if space != -1 and space - begin < EXCERPT_SNAP:
            begin = space + 1
    if finish < len(text):
        space = text.rfind(" ", end, finish)
        if space != -1 and finish - space < EXCERPT_SNAP:
            finish = space
    return ("…" if begin else "") + text[begin:finish] + ("…" if finish < len(text) else "")


@dataclass(frozen=True)
class TopicHit:
    topic: HelpTopic
    title: SafeString
    excerpt: SafeString


@dataclass(frozen=True)
class PolicyHit:
    section: SafeString
    excerpt: SafeString


@dataclass(frozen=True)
class SearchResults:
    topics: list[TopicHit]
    policy: list[PolicyHit]
    policy_total: int

    @property
    def count(self) -> int:
        return len(self.topics) + self.policy_total

    @property
    def policy_truncated(self) -> bool:
        return self.policy_total > len(self.policy)


def _topic_hits(pattern: re.Pattern) -> list[TopicHit]:
    hits = []
    for topic in TOPICS:
        title = str(topic.title)
        paragraphs = [str(p) for p in topic.body]
        matching = next((p for p in paragraphs if pattern.search(p)), None)
        if matching is None and not pattern.search(title):
            continue
        shown = excerpt(matching or paragraphs[0], pattern)
        hits.append(
            TopicHit(
                topic=topic, title=highlight(title, pattern), excerpt=highlight(shown, pattern)
            )
        )
    return hits


def _policy_hits(pattern: re.Pattern, body: str, limit: int) -> tuple[list[PolicyHit], int]:
    hits, total = [], 0
    for block in policy_blocks(body):
        # A paragraph matches by its text or by the heading right above it.
        if not pattern.search(block.text) and not (
            block.headings and pattern.search(block.headings[-1])
        ):
            continue
        total += 1
        if len(hits) < limit:
            section = " › ".join(block.headings)
            hits.append(
                PolicyHit(
                    section=highlight(section, pattern),
                    excerpt=highlight(excerpt(block.text, pattern), pattern),
                )
            )
    return hits, total


def help_search_results(
    *, query: str, policy_body: str = "", policy_limit: int = POLICY_RESULTS_MAX
) -> SearchResults:
    """Case-insensitive substring search (which also suits Chinese, written without spaces)."""
    pattern = re.compile(re.escape(query), re.IGNORECASE)
    policy, total = _policy_hits(pattern, policy_body, policy_limit) if policy_body else ([], 0)
    return SearchResults(topics=_topic_hits(pattern), policy=policy, policy_total=total)
