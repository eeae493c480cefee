"""Fields staff can correct on a user's request, with how to read and change each.

Users edit their nickname, avatar, number and password themselves; the form
points them there. A correction request names one of these fields, or "other"
(data kept elsewhere, described in words, answered by staff).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.services import user_update_nickname


@dataclass(frozen=True)
class CorrectableField:
    code: str
    label: str | Promise
    current: Callable[..., str] | None
    apply: Callable[..., None] | None


def _apply_nickname(*, user, value: str, actor) -> None:
    user_update_nickname(user=user, nickname=value[:40])


OTHER = "other"

FIELDS = {
    field.code: field
    for field in (
        CorrectableField("nickname", _("Nickname"), lambda user: user.nickname, _apply_nickname),
        CorrectableField(OTHER, _("Other data (describe it below)"), None, None),
    )
}


def choices():
    return [(code, field.label) for code, field in FIELDS.items()]
