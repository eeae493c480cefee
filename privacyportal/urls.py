from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from . import health, views

admin.site.site_header = _("Privacy portal: staff desk")
admin.site.site_title = _("Privacy portal")

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", health.health, name="health"),
    # Accounts have no e-mail address: allauth's e-mail page has nothing to manage, and a
    # forgotten password is replaced by signing in with a code (then setting a new one).
    path("accounts/email/", RedirectView.as_view(pattern_name="accounts:settings")),
    path(
        "accounts/password/reset/",
        RedirectView.as_view(pattern_name="account_request_login_code", query_string=True),
    ),
    path("accounts/", include("allauth.urls")),
    path("account/consents/", include("consents.urls")),
    path("account/requests/", include("requests.urls")),
    path("account/", include("accounts.urls")),
    path("policy/", include("consents.policy_urls")),
    # Public: searching needs no account (policy 2.4.1(1)).
    path("help/", include("help.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/notices/", include("requests.notice_urls")),
    path("api/v1/", include("api.urls")),
]

handler429 = "privacyportal.views.handler429"

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
