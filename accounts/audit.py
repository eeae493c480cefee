"""The audit actions of accounts: staff acting on accounts and roles, the purge of sign-ups."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    USER_CREATED = "user.created", _("Account created by staff")
    USER_CHANGED = "user.changed", _("Account changed by staff")
    USER_PASSWORD_SET = "user.password_set", _("Password set by staff")
    USER_PASSWORD_REMOVED = "user.password_removed", _("Password sign-in turned off by staff")
    GROUP_CREATED = "group.created", _("Role created")
    GROUP_CHANGED = "group.changed", _("Role changed")
    GROUP_DELETED = "group.deleted", _("Role deleted")
    ACCOUNT_CLOSED_UNVERIFIED = (
        "account.closed_unverified",
        _("Unverified sign-up closed"),
    )
