from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    name = "requests"
    verbose_name = _("Privacy requests")

    def ready(self) -> None:
        from . import personal_data  # noqa: F401  (registers the kinds)
