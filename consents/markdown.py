"""Policy text: Markdown written by staff, shown to everyone as sanitised HTML.

Python-Markdown passes raw HTML through, so its output is never trusted: nh3
keeps only the tags and attributes a policy document needs and drops scripts,
event handlers and ``javascript:`` links, whatever the Markdown contained.
"""

from __future__ import annotations

import functools

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions.toc import slugify_unicode

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "ins",
        "li",
        "ol",
        "p",
        "pre",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
# Headings keep their ids so a section can be linked to (policy/#2-信息的收集及使用).
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "h5": {"id"},
    "h6": {"id"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
    )


def _drop_leading_title(text: str, title: str) -> str | None:
    """The text without its first line when that line is ``# <title>``, else None."""
    first, _, rest = text.lstrip().partition("\n")
    if title and first.startswith("# ") and first[2:].strip() == title.strip():
        return rest
    return None


@functools.lru_cache(maxsize=32)
def _render(text: str, title: str) -> str:
    # The page shows the title as its only <h1>: a text that opens with the same
    # title loses that line; any other text has its headings moved one level down.
    body = _drop_leading_title(text, title)
    html = markdown_lib.markdown(
        text if body is None else body,
        extensions=["tables", "sane_lists", "toc"],
        extension_configs={
            "toc": {"baselevel": 2 if body is None else 1, "slugify": slugify_unicode}
        },
        output_format="html",
    )
    return sanitise(html)


def render_markdown(text: str, *, title: str = "") -> SafeString:
    """Markdown → HTML that is safe to put in a page (sanitised with an allowlist)."""
    # Safe: the HTML comes out of nh3's allowlist sanitiser just above.
    return mark_safe(_render(text or "", title))  # noqa: S308
