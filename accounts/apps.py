from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    # Not "Accounts": allauth.account's app has that name, and both read 账户.
    verbose_name = _("Users and accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from privacyportal.audit import audit_actions
        from privacyportal.middleware import language_chosen

        from . import personal_data  # noqa: F401  (registers the kinds)
        from .audit import AuditAction
        from .services import user_language_adopted, user_language_chosen

        audit_actions.register(AuditAction)
        language_chosen.connect(user_language_chosen, dispatch_uid="accounts.language")
        user_logged_in.connect(user_language_adopted, dispatch_uid="accounts.language_adopted")
