from django.urls import path

from . import views

app_name = "requests"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/<slug:kind>/", views.request_new, name="new"),
    path("new/<slug:kind>/verify/", views.request_verify, name="verify"),
    path("disclosures/", views.disclosure_list, name="disclosures"),
    path("<uuid:reference>/", views.request_detail, name="detail"),
    path("<uuid:reference>/withdraw/", views.request_withdraw, name="withdraw"),
    path("<uuid:reference>/download/", views.copy_download, name="download"),
]
