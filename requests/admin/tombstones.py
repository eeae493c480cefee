"""Deletion tombstones: what each deletion erased, shown to the desk and never changed."""

from __future__ import annotations

from django.contrib import admin

from privacyportal.desk import ReadOnlyAdmin

from ..models import DeletionTombstone


@admin.register(DeletionTombstone)
class DeletionTombstoneAdmin(ReadOnlyAdmin):
    """What each deletion erased, by user id only: evidence for replaying it after a restore."""

    list_display = ["erased_at", "user_id", "request", "whole_account", "kinds"]
    list_filter = ["whole_account"]
    search_fields = ["=user_id"]
    list_select_related = ["request"]
    fields = ["erased_at", "user_id", "request", "whole_account", "kinds"]
    readonly_fields = fields
