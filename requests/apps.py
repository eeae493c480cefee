from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    name = "requests"
    verbose_name = _("Privacy requests")

    def ready(self) -> None:
        from privacyportal.audit import audit_actions
        from privacyportal.recipients import recipients

        from . import personal_data  # noqa: F401  (registers the kinds)
        from .audit import AuditAction
        from .disclosures import SHARING_PURPOSE
        from .selectors import recipients_of_shared_data

        # Every sharing on consent is recorded under this purpose, so the register's
        # active recipients are the ones its separate consent names.
        recipients.provide(SHARING_PURPOSE, recipients_of_shared_data)
        audit_actions.register(AuditAction)
