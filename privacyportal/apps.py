from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyPortalConfig(AppConfig):
    name = "privacyportal"
    verbose_name = _("Privacy portal")
