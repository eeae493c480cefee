from django.urls import path

from . import policy_views

app_name = "policy"

urlpatterns = [
    path("", policy_views.policy_in_force, name="in_force"),
    path("versions/", policy_views.policy_versions, name="versions"),
    path("v<int:number>/", policy_views.policy_version, name="version"),
    path("diff/", policy_views.policy_diff, name="diff"),
    path("accept/", policy_views.policy_accept_page, name="accept"),
    path("notice/dismiss/", policy_views.policy_notice_dismiss, name="notice_dismiss"),
]
