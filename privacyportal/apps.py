from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyPortalConfig(AppConfig):
    name = "privacyportal"
    verbose_name = _("Privacy portal")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy checks)
        from .audit import AuditAction, audit_actions

        audit_actions.register(AuditAction)
