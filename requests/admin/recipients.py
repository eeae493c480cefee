"""Recipients and disclosures, through ``requests.register`` and ``requests.disclosures``
(``0008_roles_for_recipients``).

- recipients are added and changed, and their signing secret set, with
  ``requests.add_recipient`` / ``requests.change_recipient`` (officers); the secret is
  shown once, in the response that sets it, and never again;
- recording a disclosure needs ``requests.add_disclosure``; a recorded disclosure is
  never edited or deleted (it is the ledger the user reads).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from privacyportal.desk import AdminUrls, PhoneSearch, WithoutBulkDelete
from privacyportal.staff_access import require_recent_reauthentication
from privacyportal.templatetags.phones import phone_display

from .. import register
from ..disclosures import DisclosureError, disclosure_record, disclosure_refusals
from ..models import DeletionNotice, Disclosure, Recipient

OPEN_NOTICE_STATUSES = [
    status for status in DeletionNotice.Status.values if status not in DeletionNotice.DONE
]


def _https_by_default(db_field, **kwargs):
    if db_field.name == "endpoint":
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class RecipientForm(forms.ModelForm):
    class Meta:
        model = Recipient
        fields = ["name", "contact", "data_categories", "endpoint", "is_active"]
        # The admin passes its own callback (RecipientAdmin.formfield_for_dbfield does the same).
        formfield_callback = _https_by_default
        help_texts = {
            "contact": _(
                "Who to reach there, and how. Users see it on “Who received my data” "
                "(policy 3.1: the recipient's name and contact details)."
            ),
            "is_active": _(
                "Untick when we stop sharing with this recipient: it can no longer be chosen for "
                "a new disclosure, and it is still told to delete what it received."
            ),
        }


@admin.register(Recipient)
class RecipientAdmin(WithoutBulkDelete, AdminUrls, admin.ModelAdmin):
    """The register of recipients (policy 3.1). Officers manage it; everyone on the desk sees it.

    The signing secret never appears here: "Set a new secret" makes one through
    ``register.recipient_secret_set`` and shows it in that response only. Adding, changing
    and deleting go through ``requests.register`` (audited). No bulk delete: recipients that
    received data cannot go (PROTECT); deactivate them instead.
    """

    form = RecipientForm
    list_display = [
        "name",
        "is_active",
        "delivery",
        "categories",
        "secret_state",
        "open_notices",
        "failed_notices",
    ]
    list_filter = ["is_active"]
    search_fields = ["name"]
    filter_horizontal = ["data_categories"]
    readonly_fields = ["secret_state", "records", "created_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("data_categories")
            .annotate(
                open_count=Count("notices", filter=Q(notices__status__in=OPEN_NOTICE_STATUSES)),
                failed_count=Count(
                    "notices", filter=Q(notices__status=DeletionNotice.Status.FAILED)
                ),
            )
        )

    def get_fieldsets(self, request, obj=None):
        main = (None, {"fields": ["name", "contact", "data_categories", "endpoint", "is_active"]})
        if obj is None:
            return [main]
        return [
            main,
            (_("Signing secret"), {"fields": ["secret_state"]}),
            (_("Records"), {"fields": ["records", "created_at"]}),
        ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "endpoint":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # The endpoint is where users' deletion notices go: re-authenticate to point it
        # elsewhere. Raised inside the admin's transaction, so nothing is saved meanwhile.
        if "endpoint" in form.changed_data:
            require_recent_reauthentication(request)
        register.recipient_save(
            recipient=obj, actor=request.user, categories=form.cleaned_data.get("data_categories")
        )

    def save_related(self, request, form, formsets, change):
        # The service set the data categories (its audit row keeps them before and after).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        register.recipient_delete(recipient=obj, actor=request.user)

    @admin.display(description=_("deletion notices"))
    def delivery(self, obj):
        return obj.endpoint or gettext("manual (sent by staff)")

    @admin.display(description=_("data categories received"))
    def categories(self, obj):
        return ", ".join(category.name for category in obj.data_categories.all()) or "—"

    @admin.display(description=_("signing secret"), ordering="secret_set_at")
    def secret_state(self, obj):
        if obj is None or obj.secret_set_at is None:
            if obj is not None and obj.endpoint:
                return format_html(
                    '<strong class="desk-warning">{}</strong>',
                    gettext("Not set: notices to this endpoint cannot be signed."),
                )
            return gettext("Not set")
        return gettext("Set on %(date)s") % {
            "date": timezone.localtime(obj.secret_set_at).strftime("%Y-%m-%d %H:%M")
        }

    @admin.display(description=_("open notices"), ordering="open_count")
    def open_notices(self, obj):
        return obj.open_count

    @admin.display(description=_("failed notices"), ordering="failed_count")
    def failed_notices(self, obj):
        if obj.failed_count:
            return format_html('<strong class="desk-warning">{}</strong>', obj.failed_count)
        return 0

    @admin.display(description=_("records"))
    def records(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        disclosures = obj.disclosures.count()
        notices = obj.notices.count()
        text = "; ".join(
            [
                ngettext("%(count)d disclosure", "%(count)d disclosures", disclosures)
                % {"count": disclosures},
                ngettext("%(count)d deletion notice", "%(count)d deletion notices", notices)
                % {"count": notices},
            ]
        )
        if disclosures or notices:
            text += ". " + gettext(
                "A recipient with records cannot be deleted: untick “active” instead."
            )
        return text

    def has_delete_permission(self, request, obj=None):
        if obj is not None and register.recipient_has_records(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        # Staff who may not delete recipients get the admin's plain 403, not a message that
        # names the recipient.
        if not super().has_delete_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            try:
                register.recipient_check_deletable(obj)
            except register.RegisterError as error:
                self.message_user(request, error.message, messages.ERROR)
                return HttpResponseRedirect(self.admin_url("change", obj.pk))
        return super().delete_view(request, object_id, extra_context)

    # --- the signing secret ----------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/secret/",
                self.admin_site.admin_view(self.secret_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_secret",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_change_permission(request, obj):
            extra_context["secret_url"] = self.admin_url("secret", obj.pk)
        return super().change_view(request, object_id, form_url, extra_context)

    def secret_view(self, request, object_id):
        """GET asks to confirm (the old secret stops working); POST sets and shows the new one.

        The secret is rendered straight into the POST's response, never into a message
        (messages travel in the session or a cookie), and the response is not cached.
        """
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        recipient = self.get_object(request, unquote(object_id))
        if recipient is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, recipient):
            raise PermissionDenied
        require_recent_reauthentication(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": recipient,
            "title": gettext("Set a new signing secret"),
            "change_url": self.admin_url("change", recipient.pk),
        }
        template = "admin/requests/recipient/secret_confirm.html"
        if request.method == "POST":
            context["secret"] = register.recipient_secret_set(
                recipient=recipient, actor=request.user
            )
            self.log_change(request, recipient, gettext("Set a new signing secret."))
            template = "admin/requests/recipient/secret_set.html"
        request.current_app = self.admin_site.name
        response = TemplateResponse(request, template, context)
        add_never_cache_headers(response)
        return response


# --- disclosures -----------------------------------------------------------------------------


class DisclosureForm(forms.ModelForm):
    """Recording a sharing: the form shapes the input and shows each refusal of
    ``requests.disclosures`` beside its field; ``record`` is the one write
    (``disclosure_record``, which checks the same rules again inside its transaction)."""

    # The refusal of a write that the check had let through (DisclosureAdmin.changeform_view).
    refusal: DisclosureError | None = None

    class Meta:
        model = Disclosure
        fields = [
            "user",
            "recipient",
            "categories",
            "subject_identifier",
            "basis",
            "legal_exception",
            "legal_note",
            "disclosed_at",
        ]
        widgets = {"basis": forms.RadioSelect, "legal_note": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "categories": _("Only categories the recipient is registered to receive."),
            "legal_exception": _("Only when the basis is a legal exception."),
            "legal_note": _("Why the exception applies: the law, the order or the case."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "recipient" in self.fields:
            self.fields["recipient"].queryset = Recipient.objects.filter(is_active=True)

    def clean(self):
        data = super().clean()
        if self.refusal is not None:
            refusals = [self.refusal]
        else:
            refusals = disclosure_refusals(**self._sharing())
        for refusal in refusals:
            # A field that did not parse already says why; its rules wait until it does.
            if refusal.field not in self.errors:
                self.add_error(refusal.field or None, refusal.desk_message)
        return data

    def record(self, *, actor) -> Disclosure:
        return disclosure_record(**self._sharing(), actor=actor)

    def _sharing(self) -> dict:
        data = self.cleaned_data
        return {
            "user": data.get("user"),
            "recipient": data.get("recipient"),
            "categories": list(data.get("categories") or []),
            "subject_identifier": data.get("subject_identifier") or "",
            "basis": data.get("basis") or "",
            "legal_exception": data.get("legal_exception") or "",
            "legal_note": data.get("legal_note") or "",
            "disclosed_at": data.get("disclosed_at"),
        }


@admin.register(Disclosure)
class DisclosureAdmin(WithoutBulkDelete, PhoneSearch, admin.ModelAdmin):
    """The ledger of sharing: recorded through the service, then never edited or deleted."""

    form = DisclosureForm
    list_display = [
        "disclosed_at",
        "user_phone",
        "recipient",
        "category_names",
        "basis",
        "legal_exception",
    ]
    list_filter = ["recipient", "basis"]
    list_select_related = ["user", "recipient"]
    search_fields = ["user__phone"]
    search_help_text = _("Mobile number (spaces, dashes and +86 are fine).")
    date_hierarchy = "disclosed_at"
    autocomplete_fields = ["user"]
    filter_horizontal = ["categories"]
    readonly_fields = ["consent_event", "recorded_by", "recorded_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(DisclosureForm.Meta.fields)
        return [
            "disclosed_at",
            "user",
            "recipient",
            "categories",
            "subject_identifier",
            "basis",
            "consent_event",
            "legal_exception",
            "legal_note",
            "recorded_by",
            "recorded_at",
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # A class made for this request by modelform_factory.
        form.refusal = getattr(request, "disclosure_refusal", None)
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DisclosureError as refusal:
            # The write refused what the check let through a moment before (the consent
            # withdrawn in between); its transaction kept nothing. The form is shown again
            # as typed, with the refusal beside its field, instead of a 500.
            request.disclosure_refusal = refusal
            return super().changeform_view(request, object_id, form_url, extra_context)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in ("user", "recipient") and formfield is not None:
            # Pick existing ones; users and recipients are not managed from here.
            widget = formfield.widget
            widget.can_add_related = widget.can_change_related = widget.can_delete_related = False
            widget.can_view_related = False
        return formfield

    @admin.display(description=_("mobile number"), ordering="user__phone")
    def user_phone(self, obj):
        return phone_display(obj.user.phone) or gettext("(account closed)")

    @admin.display(description=_("data categories"))
    def category_names(self, obj):
        return ", ".join(category.name for category in obj.categories.all()) or "—"

    def save_form(self, request, form, change):
        # The one write (the row, its categories and its audit row), so that what the admin
        # logs and links to afterwards is the recorded disclosure.
        return form.record(actor=request.user)

    def save_model(self, request, obj, form, change):
        pass

    def save_related(self, request, form, formsets, change):
        pass

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
