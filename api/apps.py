from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("Internal API")

    def ready(self) -> None:
        from privacyportal.audit import audit_actions

        from . import personal_data, signals  # noqa: F401  (the exemption, the receivers)
        from .audit import AuditAction

        audit_actions.register(AuditAction)
