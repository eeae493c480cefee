"""What a request's timeline says, in the language of whoever reads it.

The services store what the system has to say on a timeline event as a code and its
values (``RequestEvent.note_code`` / ``note_params``), and what staff wrote (a reason,
an answer) as written (``RequestEvent.note``). This module turns both into text when a
page is shown: the user's request page and the desk's timeline read the same rendering,
each in its reader's language. Rows written before codes existed hold a plain note,
which is shown as it is.

``event_details`` reads the staff-only ``details`` of an event as sentences for the desk.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from consents.models import DataCategory
from privacyportal.registry import registry

from . import corrections
from .models import PrivacyRequest, RequestEvent

COMPLAINT_HINT = _(
    "If you disagree, you can file a question or complaint through this portal, complain to "
    "the authority that protects personal information (the Cyberspace Administration), or "
    "take the matter to court (PIPL art. 50)."
)


class Note(StrEnum):
    """The system's messages on a timeline, and the values each one keeps."""

    # {"reason": a RejectionReason value}
    REJECTED = "rejected"
    # {"to": the new due date, ISO}
    EXTENDED = "extended"
    # {"field": a corrections.FIELDS code, "value": the new value}
    CORRECTION_APPLIED = "correction_applied"
    # {"expires_at": ISO time}
    COPY_READY = "copy_ready"
    # {"whole_account": bool, "kinds": [registry codes],
    #  "notices": [{"recipient": name, "categories": [DataCategory codes]}]}
    ERASED = "erased"
    # {"recipient": name}
    NOTICE_ACKNOWLEDGED = "notice_acknowledged"
    NOTICE_SENT_BY_HAND = "notice_sent_by_hand"
    NOTICE_CLOSED = "notice_closed"


def local_time(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M} ({settings.TIME_ZONE})"


def kind_labels(codes) -> list[str]:
    known = {kind.code: kind for kind in registry.kinds()}
    return [str(known[code].label) if code in known else code for code in codes]


def category_names(codes) -> list[str]:
    """DataCategory codes as their names in the active language, in the order given."""
    codes = list(codes)
    found = {c.code: c.name for c in DataCategory.objects.filter(code__in=codes)}
    return [found.get(code, code) for code in codes]


def join_list(items) -> str:
    return pgettext("list separator", ", ").join(str(item) for item in items)


def _date(value: str) -> str:
    parsed = parse_date(value or "")
    return parsed.isoformat() if parsed else value


def _time(value: str) -> str:
    parsed = parse_datetime(value or "")
    return local_time(parsed) if parsed else value


def _erased(params: dict) -> list[str]:
    if params.get("whole_account"):
        lines = [gettext("Erased: the whole account; the account is closed.")]
    else:
        lines = [gettext("Erased: %(kinds)s.") % {"kinds": join_list(kind_labels(params["kinds"]))}]
    notices = params.get("notices", [])
    if not notices:
        lines.append(gettext("No third party had received this data, so no one needed to be told."))
    for notice in notices:
        lines.append(
            gettext("Told %(recipient)s to delete: %(categories)s.")
            % {
                "recipient": notice["recipient"],
                "categories": join_list(category_names(notice["categories"])),
            }
        )
    return lines


def _system_lines(event: RequestEvent) -> list[str]:
    params = event.note_params or {}
    code = event.note_code
    if code == Note.REJECTED:
        reason = params.get("reason", "")
        valid = reason in PrivacyRequest.RejectionReason.values
        return [str(PrivacyRequest.RejectionReason(reason).label) if valid else reason]
    if code == Note.EXTENDED:
        return [gettext("The answer is now due by %(date)s.") % {"date": _date(params["to"])}]
    if code == Note.CORRECTION_APPLIED:
        field = corrections.FIELDS.get(params.get("field", ""))
        label = str(field.label) if field is not None else params.get("field", "")
        return [
            gettext("%(field)s is now “%(value)s”.")
            % {"field": label, "value": params.get("value", "")}
        ]
    if code == Note.COPY_READY:
        return [
            gettext(
                "Your copy is ready. Download it from My requests until %(date)s; after that "
                "it is deleted and you can ask for a new one."
            )
            % {"date": _time(params["expires_at"])}
        ]
    if code == Note.ERASED:
        return _erased(params)
    recipient = params.get("recipient", "")
    if code == Note.NOTICE_ACKNOWLEDGED:
        return [
            gettext("%(recipient)s confirmed that it deleted the data.") % {"recipient": recipient}
        ]
    if code == Note.NOTICE_SENT_BY_HAND:
        return [
            gettext("Our staff sent the deletion notice to %(recipient)s.")
            % {"recipient": recipient}
        ]
    if code == Note.NOTICE_CLOSED:
        return [
            gettext("Our staff closed the deletion notice to %(recipient)s.")
            % {"recipient": recipient}
        ]
    return []


def event_note(event: RequestEvent) -> str:
    """The event's note as its reader reads it: the system's words in the active language,
    then what staff wrote, unchanged; an old row's plain note as it is."""
    lines = _system_lines(event)
    if event.note:
        lines.append(event.note)
    if event.note_code == Note.REJECTED:
        lines.append(str(COMPLAINT_HINT))
    return "\n".join(line for line in lines if line)


def _rows(count: int) -> str:
    return ngettext("%(count)d row", "%(count)d rows", count) % {"count": count}


def event_details(event: RequestEvent) -> str:
    """The staff-only details of an event, as sentences for the desk."""
    details = event.details or {}
    if not details:
        return ""
    action = event.action
    Action = RequestEvent.Action
    if action == Action.ASSIGNED and "assignee" in details:
        assignee = get_user_model().objects.filter(pk=details["assignee"]).first()
        return gettext("Assigned to %(assignee)s.") % {
            "assignee": assignee if assignee is not None else f"#{details['assignee']}"
        }
    if action == Action.EXTENDED and {"from", "to"} <= set(details):
        return gettext("Due date moved from %(before)s to %(after)s.") % {
            "before": _date(details["from"]),
            "after": _date(details["to"]),
        }
    if action == Action.CORRECTION_APPLIED and "field" in details:
        field = corrections.FIELDS.get(details["field"])
        return gettext("%(field)s changed from “%(old)s” to “%(new)s”.") % {
            "field": field.label if field is not None else details["field"],
            "old": details.get("old", ""),
            "new": details.get("new", ""),
        }
    if action == Action.DELETION_APPROVED and "erased" in details:
        erased = details["erased"]
        labels = dict(zip(erased, kind_labels(erased), strict=True))
        parts = [
            gettext("%(kind)s (%(rows)s)") % {"kind": labels[code], "rows": _rows(count)}
            for code, count in erased.items()
        ]
        notices = details.get("notices", 0)
        # Two sentences: a space between them in English, none in Chinese.
        return gettext("%(first)s %(second)s") % {
            "first": gettext("Erased: %(kinds)s.") % {"kinds": join_list(parts)},
            "second": ngettext(
                "%(count)d deletion notice created.",
                "%(count)d deletion notices created.",
                notices,
            )
            % {"count": notices},
        }
    if action == Action.COPY_READY and "copy" in details:
        return gettext("Copy %(copy)s, %(size)s, can be downloaded until %(date)s.") % {
            "copy": details["copy"],
            "size": filesizeformat(details.get("size", 0)),
            "date": _time(details.get("expires_at", "")),
        }
    if action == Action.COPY_FAILED and "copy" in details:
        return gettext("Copy %(copy)s failed: %(error)s") % {
            "copy": details["copy"],
            "error": details.get("error", ""),
        }
    if "recipient" in details and len(details) == 1:
        return gettext("Recipient: %(recipient)s.") % {"recipient": details["recipient"]}
    # Anything else still reads as words, one value after the other.
    return pgettext("list separator", "; ").join(
        f"{key}: {_plain(value)}" for key, value in details.items()
    )


def _plain(value) -> str:
    if isinstance(value, dict):
        return join_list(f"{key} {_plain(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return join_list(_plain(item) for item in value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
