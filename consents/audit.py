"""The audit actions of consents: staff changing the catalogue and the policy versions.

Users' own consents, acceptances and refusals are in the consent ledger instead."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    DATA_CATEGORY_CREATED = "data_category.created", _("Data category created")
    DATA_CATEGORY_CHANGED = "data_category.changed", _("Data category changed")
    PURPOSE_CREATED = "purpose.created", _("Purpose created")
    PURPOSE_CHANGED = "purpose.changed", _("Purpose changed")
    POLICY_VERSION_DRAFT_CREATED = "policy_version.draft_created", _("Policy draft created")
    POLICY_VERSION_DRAFT_SAVED = "policy_version.draft_saved", _("Policy draft saved")
    POLICY_VERSION_DRAFT_DELETED = "policy_version.draft_deleted", _("Policy draft deleted")
    POLICY_VERSION_PUBLISHED = "policy_version.published", _("Policy version published")
