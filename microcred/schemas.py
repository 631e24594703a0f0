"""The catalog document (``POST /credentials`` in, ``GET /credentials/{id}`` out)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Self

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


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResourceDoc(_Document):
    title: Title
    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)]  # the column's length


class TaskDoc(_Document):
    id: Slug
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    required: bool = True


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
        length = policies.approximate
        if self.price.amount <= 0 or self.resubmission_price.amount <= 0:
            raise ValueError("prices must be greater than zero")
        for price in (self.price, self.resubmission_price):
            if not currency.is_known(price.currency):
                raise ValueError(f"{price.currency!r} is not an ISO 4217 currency code")
        if max(self.price.amount, self.resubmission_price.amount) > PRICE_MAX:
            raise ValueError(
                f"prices must be at most {PRICE_MAX} in the currency's minor unit: Stripe Checkout "
                "charges no more, so a higher price could never be paid"
            )
        if not PAYMENT_WINDOW_MIN <= length(self.payment_window) <= PAYMENT_WINDOW_MAX:
            raise ValueError(
                "payment_window must be between PT30M and PT24H: Stripe Checkout sessions expire "
                "within those limits, so a longer or shorter window could not be honoured"
            )
        if length(self.submission_window) <= timedelta(0) or length(self.review_window) <= timedelta(0):
            raise ValueError("submission_window and review_window must be longer than zero")
        for reminder in self.reminders_before_due:
            if not timedelta(0) < length(reminder) < length(self.submission_window):
                raise ValueError(f"reminder {reminder} must be shorter than the submission window")
        if not timedelta(0) < length(self.evaluator_reminder_before) < length(self.review_window):
            raise ValueError("evaluator_reminder_before must be shorter than the review window")
        for kind, ids in (
            ("section", [s.id for s in self.sections]),
            ("task", [t.id for s in self.sections for t in s.tasks]),
            ("rubric criterion", [c.id for s in self.sections for c in s.rubric]),
        ):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{kind} ids must be unique within the credential: {', '.join(repeated)}")
        return self
