"""The fixed list of audit actions, after Zulip's ``AuditLogEventType``.

The kernel knows no app, so the list is a registry: each app hands its own ``TextChoices``
of actions to ``audit_actions`` from its ``AppConfig.ready()``. ``audit_record`` refuses an
action that is not on the list (a programming error), and the desk shows and filters the
audit log by the actions' labels. An action is code and label only: a new one needs no
migration, as the column holds the code.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class AuditActions:
    def __init__(self) -> None:
        self._labels: dict[str, str | Promise] = {}

    def register(self, actions: type[models.TextChoices]) -> None:
        for code, label in actions.choices:
            if self._labels.get(code, label) is not label:
                raise ImproperlyConfigured(f"The audit action {code!r} is registered twice.")
            self._labels[code] = label

    def check(self, action: str) -> str:
        """The action's code; a ValueError when it is not on the list."""
        code = str(action)
        if code not in self._labels:
            raise ValueError(
                f"{code!r} is not an audit action: add it to its app's AuditAction choices."
            )
        return code

    def codes(self) -> frozenset[str]:
        return frozenset(self._labels)

    def label(self, code: str) -> str | Promise:
        """The action's label; an old row's code no longer on the list reads as itself."""
        return self._labels.get(code, code)

    def choices(self) -> list[tuple[str, str | Promise]]:
        return sorted(self._labels.items())


audit_actions = AuditActions()


class AuditAction(models.TextChoices):
    """What the kernel itself audits: the staff desk's second factor."""

    MFA_RESET = "mfa.reset", _("Second factor reset")
