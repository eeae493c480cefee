"""Building the copy of a user's data for an access request (policy 4.1, PIPL art. 45).

The copy is a ZIP in media storage (``access-copies/<random>.zip``) holding, for
every kind in the personal-data registry, ``<code>.json`` and ``<code>.csv``; the
files the user gave us (the avatar) under ``files/``; and a ``README.txt`` guide.

What a person reads in it (the registry declares each field once, with its label and
the labels of its codes):

- **The copy's language** is the user's (saved on the account), else the one active
  where the build runs (the request's, when filing runs the build at once). Column
  names and the guide are in that language.
- **Column names are the field labels** the pages show, in the JSON keys and the CSV
  header alike.
- **A code is written as its label, with the code beside it**: a coded field fills two
  columns, "Status" with the label the pages show and "Status (code)" with the stored
  code, in both files (so a program can rely on the code, a person read the label).
- **Files are in the archive**: a file field's column holds the file's name in the ZIP,
  never the storage path.

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
  entry at a time) so both files come from one read of the rows, and the files the
  rows point to are copied in after them, in chunks. Memory stays flat however many
  rows a user has (``make bench``: 100,000 browsing records).
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext
from phonenumber_field.phonenumber import PhoneNumber

from consents.selectors import version_in_force
from privacyportal.csvsafe import spreadsheet_safe
from privacyportal.registry import DataField, DataKind, registry

from .access_copies import (
    COPY_LIFETIME,
    access_copy_claim,
    access_copy_mark_failed,
    access_copy_mark_ready,
    access_copy_progress,
)
from .models import AccessCopy, PrivacyRequest

logger = logging.getLogger(__name__)

CopyStatus = AccessCopy.Status
Status = PrivacyRequest.Status

DIRECTORY = "access-copies"
# Inside the ZIP: where the files that rows point to (the avatar) go, and the guide.
FILES_FOLDER = "files"
GUIDE_NAME = "README.txt"
GUIDE_TEMPLATE = "requests/copy/guide.txt"
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


def copy_language(user) -> str:
    """The user's language, else the active one (the request's when filing runs the build;
    the portal's own in a worker)."""
    return user.language or translation.get_language() or settings.LANGUAGE_CODE


def _write_zip(path: str, *, copy: AccessCopy, user, built_at: dt.datetime, where: dict) -> int:
    kinds = registry.kinds()
    where["stage"] = "counting rows"
    # Every kind weighs one unit plus its rows, so progress moves with the work.
    counts = {kind.code: kind.queryset_for_user(user).count() for kind in kinds}
    progress = _Progress(copy.pk, total=sum(counts.values()) + len(kinds))
    written: dict[str, int] = {}
    with (
        translation.override(copy_language(user)),
        open(path, "wb") as raw,
    ):
        with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            layouts = []
            for kind in kinds:
                where["stage"] = f"exporting {kind.code!r}"
                layout = Layout.of(kind)
                written[kind.code] = _write_kind(archive, layout, user, progress)
                layouts.append(layout)
                progress.advance(1)
            where["stage"] = "writing the guide"
            guide = guide_text(
                privacy_request=copy.request, layouts=layouts, counts=written, built_at=built_at
            )
            archive.writestr(GUIDE_NAME, guide.encode("utf-8"))
        raw.flush()
        os.fsync(raw.fileno())
        return os.fstat(raw.fileno()).st_size


# --- columns -------------------------------------------------------------------------------------


def code_header(header: str) -> str:
    """The name of the column beside a coded field's, holding the stored code."""
    return gettext("%(label)s (code)") % {"label": header}


@dataclass(frozen=True)
class Column:
    """One field of a kind as the copy writes it, in the copy's language."""

    data_field: DataField
    header: str
    # Coded fields: the label of a stored value (the labels looked up once for the whole
    # build), and the name of the column beside it that keeps the code.
    label: Callable[[object], str] | None = None
    code_header: str = ""
    # File fields: where the files are kept.
    storage: Storage | None = None

    @property
    def headers(self) -> list[str]:
        return [self.header, self.code_header] if self.label else [self.header]


@dataclass
class Layout:
    """A kind's columns for one build, and the files its rows point to (the avatar)."""

    kind: DataKind
    columns: list[Column]
    # (storage, stored name, name in the ZIP): only names, copied in after the rows.
    files: list[tuple[Storage, str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, kind: DataKind) -> Layout:
        columns = []
        for data_field in kind.fields:
            header = str(data_field.label)
            if data_field.is_coded:
                label = data_field.labeller()
                columns.append(Column(data_field, header, label, code_header(header)))
            elif data_field.is_file:
                storage = kind.model._meta.get_field(data_field.name).storage
                columns.append(Column(data_field, header, storage=storage))
            else:
                columns.append(Column(data_field, header))
        layout = cls(kind=kind, columns=columns)
        headers = layout.headers
        if len(set(headers)) != len(headers):
            # Two fields named alike would write one JSON key over the other.
            raise ValueError(f"Kind {kind.code!r} has two columns with the same name.")
        return layout

    @property
    def headers(self) -> list[str]:
        return [header for column in self.columns for header in column.headers]

    def record(self, row: dict, number: int) -> dict:
        """A row as the copy writes it: labels with their codes, files by their ZIP name."""
        record = {}
        for column in self.columns:
            value = row[column.data_field.name]
            if column.label is not None:
                record[column.header] = column.label(value)
                record[column.code_header] = plain(value)
            elif column.storage is not None:
                record[column.header] = self._attach(column, value, number)
            else:
                record[column.header] = plain(value)
        return record

    def _attach(self, column: Column, stored_name, number: int) -> str:
        if not stored_name:
            return ""
        if not column.storage.exists(stored_name):
            # A row naming a file that is gone: the copy says there is none rather than
            # failing for every retry. The name is random and says nothing of the user.
            logger.warning("Access copy: %s file %s is missing.", self.kind.code, stored_name)
            return ""
        suffix = os.path.splitext(stored_name)[1].lower()
        name = f"{FILES_FOLDER}/{self.kind.code}/{column.data_field.name}-{number}{suffix}"
        self.files.append((column.storage, stored_name, name))
        return name


def _write_kind(archive: zipfile.ZipFile, layout: Layout, user, progress: _Progress) -> int:
    """Write ``<code>.json`` and ``<code>.csv`` from one pass over the kind's rows, then the
    files the rows point to."""
    kind = layout.kind
    count = 0
    with tempfile.TemporaryFile() as csv_file:
        csv_sink = _TextSink(csv_file)
        # A byte-order mark: spreadsheet programs then read the Chinese text as UTF-8.
        csv_sink.write("\ufeff")
        writer = csv.writer(csv_sink, lineterminator="\r\n")
        writer.writerow(layout.headers)
        with archive.open(f"{kind.code}.json", "w", force_zip64=True) as json_entry:
            json_sink = _TextSink(json_entry)
            json_sink.write("[")
            for row in kind.rows_for_user(user):
                json_sink.write(",\n" if count else "\n")
                count += 1
                record = layout.record(row, count)
                json_sink.write(_json_encoder.encode(record))
                writer.writerow([csv_cell(value) for value in record.values()])
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
    for storage, stored_name, name in layout.files:
        with storage.open(stored_name, "rb") as source, archive.open(name, "w") as entry:
            shutil.copyfileobj(source, entry, COPY_CHUNK_BYTES)
    return count


# --- the guide -----------------------------------------------------------------------------------


def _local(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M} ({settings.TIME_ZONE})"


def _code_text(code) -> str:
    """A code as the guide lists it: as it reads in the files."""
    if code == "":
        return gettext("(empty)")
    if isinstance(code, bool):
        return "true" if code else "false"
    return str(code)


def _model_field(model: type[models.Model], name: str):
    *path, last = name.split("__")
    for part in path:
        model = model._meta.get_field(part).related_model
    return model._meta.get_field(last)


def _column_notes(layout: Layout) -> list[dict]:
    notes = []
    for column in layout.columns:
        model_field = _model_field(layout.kind.model, column.data_field.name)
        if column.label is not None:
            notes.append({"header": column.header, "note": gettext("as the pages show it")})
            notes.append(
                {
                    "header": column.code_header,
                    "note": gettext("the code, one of:"),
                    "codes": [
                        (_code_text(code), label)
                        for code, label in column.data_field.choice_labels().items()
                    ],
                }
            )
        elif column.storage is not None:
            notes.append(
                {
                    "header": column.header,
                    "note": gettext("the file's name in this archive; empty when there is none"),
                }
            )
        elif isinstance(model_field, models.DateTimeField):
            notes.append(
                {
                    "header": column.header,
                    "note": gettext("date and time (ISO 8601, with the UTC offset)"),
                }
            )
        elif isinstance(model_field, models.DateField):
            notes.append({"header": column.header, "note": gettext("date (YYYY-MM-DD)")})
        else:
            notes.append({"header": column.header, "note": ""})
    return notes


def guide_text(
    *,
    privacy_request: PrivacyRequest,
    layouts: Iterable[Layout],
    counts: dict[str, int],
    built_at: dt.datetime,
) -> str:
    """The guide (README.txt) in the active language: every file and column, and how
    codes are written."""
    version = version_in_force()
    # The guide's example is a request's status, as "Your requests" writes it.
    example = _json_encoder.encode(
        {
            gettext("Status"): str(PrivacyRequest.Status.IN_PROGRESS.label),
            code_header(gettext("Status")): PrivacyRequest.Status.IN_PROGRESS.value,
        }
    )
    kinds = [
        {
            "files": f"{layout.kind.code}.json / {layout.kind.code}.csv",
            "label": str(layout.kind.label),
            "description": str(layout.kind.description),
            "retention_note": str(layout.kind.retention_note),
            "count": counts.get(layout.kind.code, 0),
            "columns": _column_notes(layout),
        }
        for layout in layouts
    ]
    text = render_to_string(
        GUIDE_TEMPLATE,
        {
            "made": _local(built_at),
            "until": _local(built_at + COPY_LIFETIME),
            "reference": privacy_request.reference,
            "policy_number": version.number if version else None,
            "example": example,
            "files_folder": f"{FILES_FOLDER}/",
            "kinds": kinds,
            "rule": "-" * 72,
        },
    )
    return text.strip() + "\n"


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
