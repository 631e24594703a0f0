"""The catalog document: what an admin publishes (``POST /credentials``) and everyone reads back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    UrlConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, ValidationError

from microcred import currency, policies
from microcred.contracts import Money

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,63}$"),
    Field(description="URL-safe id chosen by the admin (letters, digits, . _ ~ -; at most 64)."),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Duration = Annotated[str, Field(description="ISO 8601 duration, e.g. P10M, P14D, PT24H; at most P100Y.")]

# Stripe Checkout sessions expire between 30 minutes and 24 hours after creation.
PAYMENT_WINDOW_MIN = timedelta(minutes=30)
PAYMENT_WINDOW_MAX = timedelta(hours=24)
PRICE_MAX = 99_999_999  # Stripe's largest amount (eight digits: 999,999.99 USD)

# A broken rule: where in the document (as pydantic locates errors), the value there, and why.
Problem = tuple[tuple[str | int, ...], Any, str]


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResourceDoc(_Document):
    title: Title
    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)]  # the column's length


# A media type (``application/pdf``) or a family of them (``image/*``).
MediaRange = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[a-z0-9][a-z0-9.+-]*/(\*|[a-z0-9][a-z0-9.+-]*)$"
    ),
    Field(max_length=100, description="A media type (application/pdf) or a family (image/*)."),
]
EVIDENCE_MAX_BYTES = 5 * 1024**3  # a single object on S3 takes 5 GiB in one copy; larger needs more
EVIDENCE_MAX_FILES = 50


# Types whose content can run script where they are opened: never taken by a family wildcard.
ACTIVE_TYPES = frozenset({"image/svg+xml"})


class EvidenceDoc(_Document):
    """The files a task takes beside its text: which types, how many, how large each."""

    # Answers always carry the limits (their defaults filled in): clients need not know them.
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)

    accept: list[MediaRange] = Field(min_length=1, max_length=30)
    max_files: int = Field(default=5, ge=1, le=EVIDENCE_MAX_FILES)
    max_bytes: int = Field(
        default=100 * 1024**2, ge=1, le=EVIDENCE_MAX_BYTES, description="The largest file, in bytes."
    )

    def accepts(self, content_type: str) -> bool:
        """The type itself, or its family (``image/*``) unless it is active content: an SVG
        carries script, so a task takes one only when it names ``image/svg+xml``."""
        kind = content_type.strip().lower()
        if kind in self.accept:
            return True
        return kind not in ACTIVE_TYPES and kind.split("/", 1)[0] + "/*" in self.accept


class TaskDoc(_Document):
    id: Slug
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    required: bool = True
    evidence: EvidenceDoc | None = Field(
        default=None, description="Files the task takes (attachments); none: text only."
    )


class CriterionDoc(_Document):
    id: Slug
    title: Title
    description: Annotated[str, StringConstraints(max_length=10_000)] = ""


class SectionDoc(_Document):
    id: Slug
    title: Title
    guidance: Annotated[str, StringConstraints(max_length=50_000)] = ""
    resources: list[ResourceDoc] = Field(default_factory=list, max_length=100)
    tasks: list[TaskDoc] = Field(min_length=1, max_length=100)
    rubric: list[CriterionDoc] = Field(min_length=1, max_length=100)


class CommunityDoc(_Document):
    id: Slug
    name: Title
    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)] | None = Field(
        default=None, description="Where members find the community (the link My Learning shows)."
    )


class CredentialDoc(_Document):
    """A micro-credential: what it costs, its policies, and its sections of tasks and rubric."""

    id: Slug
    title: Title
    summary: Annotated[str, StringConstraints(max_length=10_000)] = ""
    price: Money
    resubmission_price: Money
    community: CommunityDoc | None = None
    submission_window: Duration = "P10M"
    review_window: Duration = "P14D"
    payment_window: Duration = Field(
        default="PT24H", description="ISO 8601 duration between PT30M and PT24H (Stripe's limits)."
    )
    reminders_before_due: list[Duration] = Field(default_factory=lambda: ["P30D", "P7D"], max_length=10)
    evaluator_reminder_before: Duration = "P3D"
    sections: list[SectionDoc] = Field(min_length=1, max_length=50)

    @field_validator("submission_window", "review_window", "payment_window", "evaluator_reminder_before")
    @classmethod
    def _duration(cls, value: str) -> str:
        policies.parse(value)
        return value

    @field_validator("reminders_before_due")
    @classmethod
    def _durations(cls, values: list[str]) -> list[str]:
        for value in values:
            policies.parse(value)
        if len(set(values)) != len(values):
            raise ValueError("reminders must differ")
        return values

    def durations(self) -> list[tuple[str, str]]:
        """Every policy duration, with its field name."""
        fixed = ("submission_window", "review_window", "payment_window", "evaluator_reminder_before")
        return [(name, getattr(self, name)) for name in fixed] + [
            ("reminders_before_due", value) for value in self.reminders_before_due
        ]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """The rules across fields, all reported at once, each error located at the field it is
        about (``["price", "currency"]``, ``["sections", 1, "tasks", 0, "id"]``) so that a form
        can show it beside that field."""
        problems = [*self._price_problems(), *self._policy_problems(), *self._repeated_ids()]
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type="value_error", loc=loc, input=value, ctx={"error": ValueError(message)}
                    )
                    for loc, value, message in problems
                ],
            )
        return self

    def _price_problems(self) -> Iterator[Problem]:
        for name in ("price", "resubmission_price"):
            price: Money = getattr(self, name)
            if price.amount <= 0:
                yield (name, "amount"), price.amount, "prices must be greater than zero"
            elif price.amount > PRICE_MAX:
                yield (
                    (name, "amount"),
                    price.amount,
                    f"prices must be at most {PRICE_MAX} in the currency's minor unit: Stripe Checkout "
                    "charges no more, so a higher price could never be paid",
                )
            if not currency.is_known(price.currency):
                yield (
                    (name, "currency"),
                    price.currency,
                    f"{price.currency!r} is not an ISO 4217 currency code",
                )

    def _policy_problems(self) -> Iterator[Problem]:
        length = policies.approximate
        if not PAYMENT_WINDOW_MIN <= length(self.payment_window) <= PAYMENT_WINDOW_MAX:
            yield (
                ("payment_window",),
                self.payment_window,
                "payment_window must be between PT30M and PT24H: Stripe Checkout sessions expire "
                "within those limits, so a longer or shorter window could not be honoured",
            )
        for name in ("submission_window", "review_window"):
            if length(getattr(self, name)) <= timedelta(0):
                yield (
                    (name,),
                    getattr(self, name),
                    "submission_window and review_window must be longer than zero",
                )
        for i, reminder in enumerate(self.reminders_before_due):
            if not timedelta(0) < length(reminder) < length(self.submission_window):
                yield (
                    ("reminders_before_due", i),
                    reminder,
                    f"reminder {reminder} must be shorter than the submission window",
                )
        if not timedelta(0) < length(self.evaluator_reminder_before) < length(self.review_window):
            yield (
                ("evaluator_reminder_before",),
                self.evaluator_reminder_before,
                "evaluator_reminder_before must be shorter than the review window",
            )

    def _repeated_ids(self) -> Iterator[Problem]:
        """Every id used before within the credential, located at its repetition."""
        sections = [(("sections", i, "id"), s.id) for i, s in enumerate(self.sections)]
        tasks = [
            (("sections", i, "tasks", j, "id"), t.id)
            for i, s in enumerate(self.sections)
            for j, t in enumerate(s.tasks)
        ]
        criteria = [
            (("sections", i, "rubric", j, "id"), c.id)
            for i, s in enumerate(self.sections)
            for j, c in enumerate(s.rubric)
        ]
        for kind, located in (("section", sections), ("task", tasks), ("rubric criterion", criteria)):
            seen: set[str] = set()
            for loc, value in located:
                if value in seen:
                    yield loc, value, f"{kind} ids must be unique within the credential: {value}"
                seen.add(value)


class CredentialPublic(CredentialDoc):
    """A published credential as the catalog answers it: the document, and whether it is retired."""

    retired_at: datetime | None = Field(
        default=None,
        description="When an admin retired it: no new purchases, and members no longer see it in the "
        "catalog; enrolments already running go on.",
    )
