"""What the API accepts and answers. The OpenAPI schema is generated from these same types.

Inputs are strict (no "1" for 1, no true for 1) and forbid unknown fields; every string,
number and list is bounded, so the worst input is refused before any work. Plain pydantic
models, not ninja's ``Schema``: its per-object hook (for reading Django models) costs
more than validating a bulk answer of 1,000 results.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from django import forms
from django.utils import timezone
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from accounts.fields import MobileNumberField
from requests.models import DeletionNotice, Disclosure

BIGINT_MAX = 2**63 - 1
BULK_MAX = 1000
CATEGORIES_MAX = 50
# The earliest sharing the ledger takes: older dates are typing mistakes.
DISCLOSED_AFTER = datetime(2000, 1, 1, tzinfo=UTC)

UserId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
# One line of text: PostgreSQL refuses NUL, and identifiers and codes have no control characters.
OneLine = r"^[^\x00-\x1f\x7f]*$"
Code = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_-]+$")]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _mobile(value: str) -> str:
    try:
        return MobileNumberField(required=True).clean(value)
    except forms.ValidationError as error:
        raise ValueError(" ".join(str(m) for m in error.messages)) from None


Phone = Annotated[
    str,
    Field(min_length=1, max_length=32, examples=["+86 138 0013 8000"]),
    AfterValidator(_mobile),
]


class UserById(Input):
    id: UserId = Field(examples=[1])


class UserByPhone(Input):
    phone: Phone = Field(description="A CN mobile number: spaces, dashes, +86 or 0086 are fine.")


# Exactly one of the two: an id (the portal's user id) or a mobile number.
UserRef = UserById | UserByPhone


def _aware_and_past(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Give a time zone, e.g. 2025-01-31T09:30:00+08:00.")
    if value < DISCLOSED_AFTER:
        raise ValueError("The date is before 2000.")
    if value > timezone.now():
        raise ValueError("The sharing cannot be in the future.")
    return value


class DisclosureIn(Input):
    user: UserRef
    recipient: UserId | Annotated[str, Field(min_length=1, max_length=200, pattern=OneLine)] = (
        Field(
            description="The recipient's id or its name in the register.",
            examples=["Acme Logistics"],
        )
    )
    categories: list[Code] = Field(
        min_length=1,
        max_length=CATEGORIES_MAX,
        json_schema_extra={"uniqueItems": True},
        examples=[["phone_number"]],
    )
    basis: Literal["consent", "legal_exception"]
    legal_exception: Literal[tuple(Disclosure.LegalException.values)] | None = Field(  # type: ignore[valid-type]
        None, description="Policy 3.4.x; required when the basis is legal_exception."
    )
    legal_note: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] = Field(
        "", description="Why the legal exception applies; required with it."
    )
    subject_identifier: Annotated[str, Field(min_length=1, max_length=200, pattern=OneLine)] = (
        Field(description="What the recipient knows the user by.", examples=["cust-42"])
    )
    disclosed_at: (
        Annotated[datetime, Field(strict=False), AfterValidator(_aware_and_past)] | None
    ) = Field(None, description="When the data was shared; now if left out.")

    @model_validator(mode="after")
    def _distinct_categories(self):
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("A category is named twice.")
        return self


class RecipientOut(BaseModel):
    id: int
    name: str


class DisclosureOut(BaseModel):
    id: int
    user_id: int
    recipient: RecipientOut
    categories: list[str]
    basis: str
    legal_exception: str
    subject_identifier: str
    disclosed_at: datetime
    recorded_by_service: str


class ConsentOut(BaseModel):
    user_id: int
    purpose: str
    given: bool


class BulkCheckIn(Input):
    user_ids: list[UserId] = Field(
        min_length=1,
        max_length=BULK_MAX,
        json_schema_extra={"uniqueItems": True},
        examples=[[1, 2, 3]],
    )

    @model_validator(mode="after")
    def _distinct(self):
        if len(set(self.user_ids)) != len(self.user_ids):
            raise ValueError("A user id is named twice.")
        return self


class BulkResult(BaseModel):
    user_id: int
    given: bool


class BulkCheckOut(BaseModel):
    purpose: str
    results: list[BulkResult]


class ActivityIn(Input):
    user_id: UserId = Field(examples=[1])
    kind: Literal["search", "view"] = Field(
        description="search: a search query; view: a page or item viewed (its title)."
    )
    text: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="The query as typed, or the title of what was viewed.",
        examples=["running shoes"],
    )


class ActivityOut(BaseModel):
    stored: bool
    reason: Literal["no_personalisation_consent", "account_closed", "empty_text"] | None


class NoticeOut(BaseModel):
    subject_request_id: UUID
    status: Literal[tuple(DeletionNotice.Status.values)]  # type: ignore[valid-type]
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    subject_identities: list[str]
    categories: list[str]


class ErrorField(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[ErrorField] = []


class ErrorOut(BaseModel):
    error: ErrorDetail
