from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _recipients_of_shared_data():
    """The active recipients in the register, for the separate consent to sharing."""
    from privacyportal.recipients import NamedRecipient

    from .models import Recipient

    return [
        NamedRecipient(
            name=recipient.name,
            contact=recipient.contact,
            categories=tuple(category.name for category in recipient.data_categories.all()),
        )
        for recipient in Recipient.objects.filter(is_active=True).prefetch_related(
            "data_categories"
        )
    ]


class RequestsConfig(AppConfig):
    name = "requests"
    verbose_name = _("Privacy requests")

    def ready(self) -> None:
        from privacyportal.recipients import recipients

        from . import personal_data  # noqa: F401  (registers the kinds)
        from .propagation import SHARING_PURPOSE

        # Every sharing on consent is recorded under this purpose, so the register's
        # active recipients are the ones its separate consent names.
        recipients.provide(SHARING_PURPOSE, _recipients_of_shared_data)
