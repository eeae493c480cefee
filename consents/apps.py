from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsentsConfig(AppConfig):
    name = "consents"
    verbose_name = _("Consents and policy versions")

    def ready(self) -> None:
        from privacyportal.audit import audit_actions
        from privacyportal.registry import registry

        from . import personal_data  # noqa: F401  (registers the kinds)
        from .audit import AuditAction
        from .selectors import consent_is_given

        registry.provide_consent_check(consent_is_given)
        audit_actions.register(AuditAction)
