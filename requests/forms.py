"""What the requester fills in. Forms check the input; ``services.request_file`` decides.

Each filing form's ``filing_data()`` returns the keyword arguments of
``services.request_file`` (JSON-safe: it waits in the session while a code is checked).
"""

from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from privacyportal.registry import ExpiryAction, registry

from . import corrections
from .models import PrivacyRequest

DETAILS_MAX_LENGTH = 4000


class AccessRequestForm(forms.Form):
    """Nothing to fill in: the copy covers everything we hold."""

    def filing_data(self) -> dict:
        return {}


class CorrectionRequestForm(forms.Form):
    correction_field = forms.ChoiceField(
        label=_("What should we correct?"), choices=corrections.choices
    )
    correction_value = forms.CharField(
        label=_("The correct value"),
        max_length=PrivacyRequest._meta.get_field("correction_value").max_length,
        required=False,
    )
    details = forms.CharField(
        label=_("Why, and anything else we should know"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=DETAILS_MAX_LENGTH,
        required=False,
        help_text=_("For “Other data”, say which data is wrong or missing and what it should be."),
    )

    def filing_data(self) -> dict:
        return {
            "correction_field": self.cleaned_data["correction_field"],
            "correction_value": self.cleaned_data["correction_value"],
            "details": self.cleaned_data["details"],
        }


# Security logs stay for their legal storage period whatever the user asks: erasing them
# only locks them away (accounts.personal_data.erase_security_events).
LOCKED_UNTIL_EXPIRY = frozenset({"security_events"})


def _is_deletable(kind) -> bool:
    return kind.expiry_action == ExpiryAction.DELETE and kind.code not in LOCKED_UNTIL_EXPIRY


def deletable_kinds() -> list:
    """The kinds a deletion removes: the only ones the form offers to tick."""
    return [kind for kind in registry.kinds() if _is_deletable(kind)]


def kept_kinds() -> list:
    """The kinds a deletion leaves (kept as evidence, or locked away until their period
    ends): named with their reason above the form, never offered as a choice."""
    return [kind for kind in registry.kinds() if not _is_deletable(kind)]


def _kind_choices():
    return [
        (
            kind.code,
            format_html('{} <span class="hint">{}</span>', kind.label, kind.description),
        )
        for kind in deletable_kinds()
    ]


class DeletionRequestForm(forms.Form):
    WHOLE_ACCOUNT = "account"
    CHOSEN_KINDS = "kinds"

    ground = forms.ChoiceField(
        label=_("Why should we delete it?"),
        choices=PrivacyRequest.Ground.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the ground for the deletion.")},
    )
    scope = forms.ChoiceField(
        label=_("What should we delete?"),
        choices=[
            (WHOLE_ACCOUNT, _("My whole account (this closes the account)")),
            (CHOSEN_KINDS, _("Only the kinds of data I tick below")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the whole account or some kinds of data.")},
    )
    scope_kinds = forms.MultipleChoiceField(
        label=_("Kinds of data"),
        choices=_kind_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    details = forms.CharField(
        label=_("Anything else we should know (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=DETAILS_MAX_LENGTH,
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == self.CHOSEN_KINDS and not cleaned.get("scope_kinds"):
            self.add_error(
                "scope_kinds", _("Tick at least one kind of data, or choose the whole account.")
            )
        return cleaned

    def filing_data(self) -> dict:
        whole_account = self.cleaned_data["scope"] == self.WHOLE_ACCOUNT
        return {
            "ground": self.cleaned_data["ground"],
            "whole_account": whole_account,
            "scope_kinds": [] if whole_account else list(self.cleaned_data["scope_kinds"]),
            "details": self.cleaned_data["details"],
        }


class QuestionRequestForm(forms.Form):
    details = forms.CharField(
        label=_("Your question or complaint"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=DETAILS_MAX_LENGTH,
        error_messages={"required": _("Write your question or complaint.")},
    )

    def filing_data(self) -> dict:
        return {"details": self.cleaned_data["details"]}


FILING_FORMS = {
    PrivacyRequest.Kind.ACCESS: AccessRequestForm,
    PrivacyRequest.Kind.CORRECTION: CorrectionRequestForm,
    PrivacyRequest.Kind.DELETION: DeletionRequestForm,
    PrivacyRequest.Kind.QUESTION: QuestionRequestForm,
}


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the text message"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={
                "class": "code",
                "inputmode": "numeric",
                "pattern": "[0-9]*",
                "autocomplete": "one-time-code",
                "autofocus": True,
            }
        ),
        error_messages={
            "required": _("Enter the 6-digit code we sent you."),
            "min_length": _("The code has 6 digits."),
            "max_length": _("The code has 6 digits."),
        },
    )

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise forms.ValidationError(_("The code has 6 digits."), code="format")
        return code
