from django.contrib import admin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Audit rows are only ever added (DESIGN §3): the admin shows them, to everyone, read-only."""

    list_display = ["occurred_at", "action", "actor", "target_type", "target_id"]
    list_filter = ["action", "target_type"]
    search_fields = ["target_id", "target_type", "action"]
    date_hierarchy = "occurred_at"
    list_select_related = ["actor"]
    fields = ["occurred_at", "action", "actor", "target_type", "target_id", "details"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
