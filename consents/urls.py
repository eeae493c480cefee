from django.urls import path

from . import views

app_name = "consents"

urlpatterns = [
    path("", views.consent_page, name="page"),
    # Before the purpose pattern, which would otherwise take "history" for a code.
    path("history/", views.history, name="history"),
    path("receipts/<uuid:receipt_id>.json", views.receipt, name="receipt"),
    path("<slug:code>/", views.purpose_change, name="purpose"),
]
