from django.urls import path

from . import views

# No app_name: the pages keep their project-wide names, `help_search` and `help_topic`.
urlpatterns = [
    path("", views.help_search, name="help_search"),
    path("<slug:slug>/", views.help_topic, name="help_topic"),
]
