"""Building the copy of a user's data for an access request (policy 4.1, PIPL art. 45).

The copy is a ZIP in media storage (``access-copies/<random>.zip``) holding, for
every kind in the personal-data registry, ``<code>.json`` and ``<code>.csv``, and a
``README.txt`` in zh-hans and English that says what each file and field is.

How it is built, and why:

- **Claimed under a row lock.** ``select_for_update(skip_locked=True)`` moves a
  pending or failed copy to ``building`` in a short transaction, so two workers
  never build the same copy, and a copy already ready (or expired) is left alone:
  running the task again does nothing.
- **No transaction while writing.** Rows are read with server-side cursors in
  autocommit, so a long build never holds a transaction open (that would hold back
  purges and vacuum); progress is a one-row UPDATE.
- **Streamed.** Each kind's rows are pulled in chunks and written straight into a
  deflated ZIP entry; the CSV goes through a temporary file first (a ZIP takes one
  entry at a time) so both files come from one read of the rows. Memory stays flat
  however many rows a user has (``make bench``: 100,000 browsing records).
- **Never half served.** The ZIP is written to a temporary file next to its final
  place and renamed into it only when complete.
- **Finished in one transaction:** the copy is ready, the request completed, the
  timeline says until when the copy can be downloaded, and the user gets the SMS.
  A failure marks the copy failed (with an error that names no personal data), adds a
  staff-visible timeline event and re-raises, so the Celery task retries.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import logging
import os
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone, translation
from django.utils.translation import gettext
from phonenumber_field.phonenumber import PhoneNumber

from privacyportal.csvsafe import spreadsheet_safe
from privacyportal.registry import DataKind, registry

from .models import AccessCopy, PrivacyRequest
from .services import (
    COPY_LIFETIME,
    _local,
    access_copy_claim,
    access_copy_mark_failed,
    access_copy_mark_ready,
    access_copy_progress,
)

logger = logging.getLogger(__name__)

CopyStatus = AccessCopy.Status
Status = PrivacyRequest.Status

DIRECTORY = "access-copies"
# Progress is also updated inside a big kind, every so many rows.
PROGRESS_EVERY_ROWS = 10_000
# Text is handed to the ZIP entry (and so to zlib) in pieces of about this size.
WRITE_BUFFER_CHARS = 256 * 1024
COPY_CHUNK_BYTES = 1024 * 1024


# --- values ---------------------------------------------------------------------------------

_django_encoder = DjangoJSONEncoder()
_json_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def plain(value):
    """A value as JSON can hold it: times in the portal's zone (ISO 8601), numbers as E.164."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return _django_encoder.default(value)
    if isinstance(value, PhoneNumber):
        return value.as_e164 if value.is_valid() else (value.raw_input or "")
    if isinstance(value, dict | list):
        return value
    try:
        # Dates, times, durations, decimals, UUIDs, lazy strings.
        return _django_encoder.default(value)
    except TypeError:
        return str(value)


def csv_cell(value) -> str:
    """A cell for the CSV file, from a value already made ``plain``.

    Text a spreadsheet could run as a formula is marked as text (privacyportal.csvsafe);
    the JSON files keep every value unchanged.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return str(value)


class _TextSink:
    """Collects text and writes it, UTF-8 encoded, to a binary file in big pieces."""

    def __init__(self, binary) -> None:
        self._binary = binary
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= WRITE_BUFFER_CHARS:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._parts:
            self._binary.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
            self._size = 0


# --- building ----------------------------------------------------------------------------------


def build_access_copy(copy_id: int) -> None:
    """Build the copy if it is pending or failed; anything else is left alone (idempotent)."""
    copy = access_copy_claim(copy_id)
    if copy is None:
        logger.info("Access copy %s: nothing to build.", copy_id)
        return
    user = copy.request.user
    where = {"stage": "preparing"}
    part_path = None
    file_name = None
    try:
        part_path, directory = _part_file()
        built_at = timezone.now()
        size = _write_zip(part_path, copy=copy, user=user, built_at=built_at, where=where)
        where["stage"] = "storing"
        file_name = _store(part_path, directory)
        part_path = None
    except Exception as exc:
        _discard(part_path, file_name)
        access_copy_mark_failed(copy_id=copy_id, error=_error_text(exc, where["stage"]))
        raise
    try:
        done = access_copy_mark_ready(
            copy_id=copy_id, file_name=file_name, size=size, built_at=built_at
        )
    except Exception as exc:
        if AccessCopy.objects.filter(pk=copy_id, status=CopyStatus.READY, file=file_name).exists():
            # Committed: only an after-commit hook (queueing the SMS) failed. The copy stands.
            logger.exception("Access copy %s is ready, but a hook after commit failed.", copy_id)
            return
        _discard(None, file_name)
        access_copy_mark_failed(copy_id=copy_id, error=_error_text(exc, "finishing"))
        raise
    if not done:
        _discard(None, file_name)
        logger.info("Access copy %s: request closed meanwhile; the file was discarded.", copy_id)


@dataclass
class _Progress:
    copy_id: int
    total: int
    done: int = 0
    shown: int = 0

    def advance(self, rows: int) -> None:
        self.done += rows
        # 99 at most until the copy is ready: 100 means it can be downloaded.
        percent = min(99, self.done * 100 // max(self.total, 1))
        if percent > self.shown:
            self.shown = percent
            access_copy_progress(self.copy_id, percent)


def _write_zip(path: str, *, copy: AccessCopy, user, built_at: dt.datetime, where: dict) -> int:
    kinds = registry.kinds()
    where["stage"] = "counting rows"
    # Every kind weighs one unit plus its rows, so progress moves with the work.
    counts = {kind.code: kind.queryset_for_user(user).count() for kind in kinds}
    progress = _Progress(copy.pk, total=sum(counts.values()) + len(kinds))
    written: dict[str, int] = {}
    with open(path, "wb") as raw:
        with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for kind in kinds:
                where["stage"] = f"exporting {kind.code!r}"
                written[kind.code] = _write_kind(archive, kind, user, progress)
                progress.advance(1)
            where["stage"] = "writing the README"
            readme = readme_text(
                privacy_request=copy.request, kinds=kinds, counts=written, built_at=built_at
            )
            archive.writestr("README.txt", readme.encode("utf-8"))
        raw.flush()
        os.fsync(raw.fileno())
        return os.fstat(raw.fileno()).st_size


def _write_kind(archive: zipfile.ZipFile, kind: DataKind, user, progress: _Progress) -> int:
    """Write ``<code>.json`` and ``<code>.csv`` from one pass over the kind's rows."""
    names = [field.name for field in kind.fields]
    count = 0
    with tempfile.TemporaryFile() as csv_file:
        csv_sink = _TextSink(csv_file)
        # A byte-order mark: spreadsheet programs then read the Chinese text as UTF-8.
        csv_sink.write("\ufeff")
        writer = csv.writer(csv_sink, lineterminator="\r\n")
        writer.writerow(names)
        with archive.open(f"{kind.code}.json", "w", force_zip64=True) as json_entry:
            json_sink = _TextSink(json_entry)
            json_sink.write("[")
            for row in kind.rows_for_user(user):
                json_sink.write(",\n" if count else "\n")
                values = [plain(row[name]) for name in names]
                json_sink.write(_json_encoder.encode(dict(zip(names, values, strict=True))))
                writer.writerow([csv_cell(value) for value in values])
                count += 1
                if count % PROGRESS_EVERY_ROWS == 0:
                    progress.advance(PROGRESS_EVERY_ROWS)
            json_sink.write("\n]\n")
            json_sink.flush()
        csv_sink.flush()
        progress.advance(count % PROGRESS_EVERY_ROWS)
        # A ZIP takes one entry at a time: the CSV waited in the temporary file.
        csv_file.seek(0)
        with archive.open(f"{kind.code}.csv", "w", force_zip64=True) as csv_entry:
            shutil.copyfileobj(csv_file, csv_entry, COPY_CHUNK_BYTES)
    return count


# --- the README ----------------------------------------------------------------------------------


def readme_text(
    *,
    privacy_request: PrivacyRequest,
    kinds: Iterable[DataKind],
    counts: dict[str, int],
    built_at: dt.datetime,
) -> str:
    from consents.selectors import version_in_force

    version = version_in_force()
    kinds = list(kinds)
    sections = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            sections.append(
                _readme_section(
                    privacy_request=privacy_request,
                    kinds=kinds,
                    counts=counts,
                    built_at=built_at,
                    policy_number=version.number if version else None,
                )
            )
    return ("\n\n" + "=" * 72 + "\n\n").join(sections) + "\n"


def _readme_section(*, privacy_request, kinds, counts, built_at, policy_number) -> str:
    expires_at = built_at + COPY_LIFETIME
    lines = [
        gettext("A copy of your personal data"),
        "",
        gettext(
            "This archive holds every kind of personal information the privacy portal keeps "
            "about you, made at your request under section 4.1 of our privacy policy (your "
            "right to see and obtain a copy of your information, PIPL art. 45)."
        ),
        "",
        gettext("Made: %(date)s") % {"date": _local(built_at)},
        gettext("Download until: %(date)s") % {"date": _local(expires_at)},
        gettext("Request reference: %(reference)s") % {"reference": privacy_request.reference},
    ]
    if policy_number is not None:
        lines.append(
            gettext("Privacy policy in force: version %(number)s") % {"number": policy_number}
        )
    lines += [
        "",
        gettext(
            "For each kind of data there are two files with the same records: CODE.json "
            "(for programs) and CODE.csv (a table for spreadsheet programs, UTF-8). Times are "
            "ISO 8601 with their UTC offset. In the CSV files a value that starts with = + - or "
            "@ has a ' in front, so that spreadsheet programs show it as text; the JSON files "
            "hold every value unchanged."
        ),
    ]
    for kind in kinds:
        lines += [
            "",
            "-" * 72,
            f"{kind.code}.json / {kind.code}.csv — {kind.label}",
            str(kind.description),
        ]
        if kind.retention_note:
            lines.append(gettext("Storage period: %(note)s") % {"note": kind.retention_note})
        lines.append(gettext("Records: %(count)s") % {"count": counts.get(kind.code, 0)})
        lines.append(gettext("Fields:"))
        lines += [f"  {field.name}: {field.label}" for field in kind.fields]
    return "\n".join(lines)


# --- files ---------------------------------------------------------------------------------------


def _part_file() -> tuple[str, str | None]:
    """A temporary file beside the copies (local storage) so the final move is a rename."""
    try:
        directory = default_storage.path(DIRECTORY)
    except NotImplementedError:
        directory = None  # Remote storage: build locally, then upload.
    if directory is not None:
        os.makedirs(directory, exist_ok=True)
    handle, path = tempfile.mkstemp(prefix=".building-", suffix=".zip.part", dir=directory)
    os.close(handle)
    return path, directory


def _store(part_path: str, directory: str | None) -> str:
    # A random name: the file name must not reveal the user or the request.
    name = f"{DIRECTORY}/{secrets.token_hex(16)}.zip"
    if directory is None:
        with open(part_path, "rb") as source:
            name = default_storage.save(name, File(source))
        os.unlink(part_path)
        return name
    mode = getattr(default_storage, "file_permissions_mode", None)
    if mode is not None:
        os.chmod(part_path, mode)
    os.replace(part_path, default_storage.path(name))
    return name


def _discard(part_path: str | None, file_name: str | None) -> None:
    if part_path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part_path)
    if file_name:
        default_storage.delete(file_name)


def _error_text(exc: Exception, stage: str) -> str:
    # The type and the step only: an exception's message can quote the data being written.
    return f"{type(exc).__module__}.{type(exc).__qualname__} while {stage}"
