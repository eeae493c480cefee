"""The help topics: what each says and the pages it links to."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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
