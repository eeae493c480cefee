from django.urls import path

from . import policy_views

app_name = "policy"

urlpatterns = [
    path("", policy_views.policy_in_force, name="in_force"),
    path("accept/", policy_views.policy_accept_page, name="accept"),
]
