from django.urls import path

from . import views

app_name = "consents"

urlpatterns = [
    path("", views.consent_page, name="page"),
]
