from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.account_settings, name="settings"),
    path("nickname/", views.nickname_update, name="nickname"),
    path("avatar/", views.avatar_upload, name="avatar"),
    path("avatar/remove/", views.avatar_remove, name="avatar_remove"),
    path("avatar/image/", views.avatar_image, name="avatar_image"),
    path("password/remove/", views.password_remove, name="password_remove"),
    path("security/", views.security_events, name="security_events"),
    path("my-data/", views.my_data, name="my_data"),
    path("history/", views.history, name="history"),
    path("history/<int:pk>/delete/", views.history_delete, name="history_delete"),
    path("history/clear/", views.history_clear, name="history_clear"),
]
