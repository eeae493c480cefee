"""Public help: topics, and a search through them and the privacy policy in force.

Search needs no account (policy 2.4.1(1)). A signed-in user's searches and the topics
they open go to ``accounts.services.activity_record``, which keeps them only while the
user's personalisation consent is on (policy 2.4.1(2)).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from accounts.models import BrowsingRecord
from accounts.selectors import personalisation_is_on
from accounts.services import activity_record
from consents.selectors import version_in_force

QUERY_MAX = 100
POLICY_RESULTS_MAX = 20
# Characters of context kept either side of the first match in a long paragraph.
EXCERPT_CONTEXT = 120
EXCERPT_SNAP = 20


# --- topics ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HelpTopic:
    slug: str
    title: str | Promise
    body: tuple[str | Promise, ...]
    # (label, URL name) or (label, URL name, URL args) of the pages the topic talks about.
    links: tuple[tuple, ...] = ()

    @property
    def link_targets(self) -> list[tuple[str | Promise, str]]:
        """(label, URL) of each link, for the topic's page."""
        return [
            (label, reverse(name, args=args[0] if args else ()))
            for label, name, *args in self.links
        ]


TOPICS: tuple[HelpTopic, ...] = (
    HelpTopic(
        slug="sign-up",
        title=_("Signing up with your mobile number"),
        body=(
            _(
                "All you need is a mobile number that can receive text messages. Enter it on "
                "the sign-up page and accept the privacy policy in force; we then text a "
                "six-digit code to the number."
            ),
            _(
                "Enter the code to confirm the number, and your account is ready. If the code "
                "does not arrive, you can ask for a new one after a minute; to stop abuse, only "
                "a few codes are sent to a number each hour."
            ),
            _(
                "You do not need an account to read the privacy policy or to search this help. "
                "Every optional use of your data is off when you sign up; you choose them "
                "later, one by one."
            ),
        ),
        links=((_("Sign up"), "account_signup"), (_("Privacy policy"), "policy:in_force")),
    ),
    HelpTopic(
        slug="sign-in",
        title=_("Signing in with a code or a password"),
        body=(
            _(
                "You can always sign in with a code: choose “Send me a sign-in code”, enter "
                "your mobile number, then the six-digit code we text to it."
            ),
            _(
                "A password is optional. Once you set one in Account Settings, you can also sign "
                "in with your number and password. You can change or remove it there at any "
                "time; without a password you sign in with codes."
            ),
            _(
                "Forgot your password? Sign in with a code, then set a new password in Account "
                "Settings. After several wrong attempts, signing in is paused for a few minutes "
                "to protect your account."
            ),
        ),
        links=((_("Sign in"), "account_login"), (_("Account Settings"), "accounts:settings")),
    ),
    HelpTopic(
        slug="change-number",
        title=_("Changing your mobile number"),
        body=(
            _(
                "In Account Settings, choose “Change mobile number” and enter the new number. "
                "We text a code to the new number; your old number stays on your account until "
                "you enter that code."
            ),
            _(
                "A number that is already registered to another account cannot be used. Every "
                "change of number is recorded among your security events."
            ),
        ),
        links=((_("Account Settings"), "accounts:settings"),),
    ),
    HelpTopic(
        slug="my-data",
        title=_("What “My data” shows"),
        body=(
            _(
                "“My data” in Account Settings lists everything we hold about you, kind by "
                "kind: for example your account, your security events, your data use choices, "
                "the policy versions you accepted and your browsing and search records."
            ),
            _(
                "For each kind it says why we keep it and for how long. Long lists show the "
                "newest records first."
            ),
            _(
                "What you can change yourself (nickname, avatar, password, mobile number, "
                "optional uses and your history) you change in Account Settings. For anything "
                "else, see “Asking us to correct or delete your data”."
            ),
        ),
        links=((_("My data"), "accounts:my_data"),),
    ),
    HelpTopic(
        slug="data-use-choices",
        title=_("Switching optional uses on and off"),
        body=(
            _(
                "Some uses of your data are needed for the basic service, your account and its "
                "security, and cannot be switched off on their own. Every other use is optional: "
                "it stays off until you switch it on, each one separately, and saying no never "
                "stops the basic service from working (policy 2.1.2)."
            ),
            _(
                "“Data use choices” in Account Settings shows each use, the data it needs and "
                "whether it is on. You can change it at any time, and every change is recorded "
                "with a receipt."
            ),
            _(
                "For example, while personalised display is on we record what you search for in "
                "Help and the help pages you open. Switching it off stops the recording at "
                "once. Under “History” you can see these records and delete them one by one or "
                "all together."
            ),
        ),
        links=(
            (_("Data use choices"), "consents:page"),
            (pgettext_lazy("browsing records", "History"), "accounts:history"),
        ),
    ),
    HelpTopic(
        slug="privacy-policy",
        title=_("Reading the privacy policy and its versions"),
        body=(
            _(
                "The privacy policy explains what we collect, why, who receives it and how long "
                "we keep it. Anyone can read it, with or without an account, and this help "
                "search looks through it too."
            ),
            _(
                "Each time we change the policy we publish a new numbered version and sum up "
                "what changed. If a change affects how we use your data, we ask you to read and "
                "accept the new version before you go on; for smaller changes we show you a "
                "notice."
            ),
        ),
        links=((_("Privacy policy"), "policy:in_force"),),
    ),
    HelpTopic(
        slug="correct-or-delete",
        title=_("Asking us to correct or delete your data"),
        body=(
            _(
                "Much of your data you can correct yourself in Account Settings: your nickname, "
                "avatar, password and mobile number, your optional uses and your history "
                "(policy 4.1.2)."
            ),
            _(
                "You also have the right to ask us to correct, supplement or delete what we "
                "hold, for example if we process it without your consent or no longer need it "
                "(policy 4.2). When we delete data, we also tell those we shared it with to "
                "delete it."
            ),
            _(
                "For everything else, file a request under “My requests” in Account Settings: "
                "“Correct my data” to have a value corrected or supplemented, “Delete my data” "
                "to have some kinds of data or your whole account deleted, “Get a copy of my "
                "data” for a file of everything we hold, and “Ask a question or complain” for "
                "anything else. A deletion or a copy is confirmed with a code we text to your "
                "number."
            ),
            _(
                "We answer within 15 working days at the latest. The request's page shows each "
                "step, the date we answer by and our answer, and you can withdraw a request "
                "while we are still working on it."
            ),
        ),
        links=(
            (_("My requests"), "requests:list"),
            (_("Correct my data"), "requests:new", ("correction",)),
            (_("Delete my data"), "requests:new", ("deletion",)),
            (_("Get a copy of my data"), "requests:new", ("access",)),
            (_("Ask a question or complain"), "requests:new", ("question",)),
            (_("My data"), "accounts:my_data"),
        ),
    ),
    HelpTopic(
        slug="security-events",
        title=_("Security events"),
        body=(
            _(
                "To protect your account we record each sign-in and sign-out and every change to "
                "your account (password, mobile number, nickname, avatar) with the device and IP "
                "address it came from (policy 2.4.1(3)). This is part of the basic service and "
                "cannot be switched off."
            ),
            _(
                "You can see them under “Security events” in Account Settings. We keep them for "
                "180 days, then delete them."
            ),
            _(
                "If you see a sign-in or a change you did not make, change your password (or "
                "remove it and sign in with codes) and tell us at once with “Ask a question or "
                "complain” under “My requests”."
            ),
        ),
        links=(
            (_("Security events"), "accounts:security_events"),
            (_("Ask a question or complain"), "requests:new", ("question",)),
        ),
    ),
)

_TOPICS_BY_SLUG = {topic.slug: topic for topic in TOPICS}


def topic_get(*, slug: str) -> HelpTopic | None:
    return _TOPICS_BY_SLUG.get(slug)


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


# --- views ----------------------------------------------------------------------------


def _recording(request) -> bool | None:
    """For the page's notice: None for visitors, else whether personalisation is on."""
    if not request.user.is_authenticated:
        return None
    return personalisation_is_on(user=request.user)


@require_GET
def help_search(request):
    query, shortened = query_normalise(request.GET.get("q", ""))
    results = version = None
    if query:
        version = version_in_force()
        results = help_search_results(query=query, policy_body=version.body if version else "")
        if request.user.is_authenticated:
            activity_record(user=request.user, kind=BrowsingRecord.Kind.SEARCH, text=query)
    context = {
        "query": query,
        "shortened": shortened,
        "query_max": QUERY_MAX,
        "results": results,
        "version": version,
        "topics": TOPICS,
        "recording": _recording(request),
    }
    return render(request, "help/search.html", context)


@require_GET
def help_topic(request, slug: str):
    topic = topic_get(slug=slug)
    if topic is None:
        raise Http404
    if request.user.is_authenticated:
        activity_record(
            user=request.user,
            kind=BrowsingRecord.Kind.VIEW,
            text=str(topic.title),
            path=request.path,
        )
    context = {
        "topic": topic,
        "topics": [t for t in TOPICS if t.slug != slug],
        "query_max": QUERY_MAX,
        "recording": _recording(request),
    }
    return render(request, "help/topic.html", context)
