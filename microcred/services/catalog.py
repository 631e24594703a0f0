"""The catalog: publish a credential document, read it back, retire it, and outline it for workflows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from microcred import pagination, policies
from microcred.contracts import CredentialOutline, Money, Policies, SectionOutline
from microcred.documents import (
    CommunityDoc,
    CredentialDoc,
    CredentialPublic,
    CriterionDoc,
    ResourceDoc,
    SectionDoc,
    TaskDoc,
)
from microcred.errors import AlreadyExists, Conflict, CredentialRetired, InvalidRequest, NotFound
from microcred.models import Community, Credential, Criterion, Resource, Section, Task
from microcred.pagination import Key


def publish(session: Session, *, doc: CredentialDoc) -> None:
    """Store a new credential; its structure never changes afterwards."""
    for field, value in doc.durations():
        try:
            policies.check_bounded(value)
        except policies.InvalidDuration as exc:
            raise InvalidRequest(f"{field}: {exc}", field=field) from exc
    if session.get(Credential, doc.id) is not None:
        raise AlreadyExists("a credential with this id exists; publish changes under a new id", id=doc.id)
    if doc.community is not None:
        community = session.get(Community, doc.community.id)
        url = str(doc.community.url) if doc.community.url else None
        if community is None:
            session.add(Community(id=doc.community.id, name=doc.community.name, url=url))
        elif (community.name, community.url) != (doc.community.name, url):
            raise Conflict(
                "a community with this id exists under another name or address",
                community_id=doc.community.id,
                name=community.name,
                url=community.url,
            )
    session.add(
        Credential(
            id=doc.id,
            title=doc.title,
            summary=doc.summary,
            price_amount=doc.price.amount,
            price_currency=doc.price.currency,
            resubmission_amount=doc.resubmission_price.amount,
            resubmission_currency=doc.resubmission_price.currency,
            community_id=doc.community.id if doc.community else None,
            submission_window=doc.submission_window,
            review_window=doc.review_window,
            payment_window=doc.payment_window,
            reminders_before_due=list(doc.reminders_before_due),
            evaluator_reminder_before=doc.evaluator_reminder_before,
        )
    )
    _flush(session, doc)  # the credential's row before the rows that refer to it
    for s_pos, section in enumerate(doc.sections):
        session.add(
            Section(
                credential_id=doc.id,
                id=section.id,
                position=s_pos,
                title=section.title,
                guidance=section.guidance,
            )
        )
        for r_pos, resource in enumerate(section.resources):
            session.add(
                Resource(
                    credential_id=doc.id,
                    section_id=section.id,
                    position=r_pos,
                    title=resource.title,
                    url=str(resource.url),
                )
            )
        for t_pos, task in enumerate(section.tasks):
            session.add(
                Task(
                    credential_id=doc.id,
                    id=task.id,
                    section_id=section.id,
                    position=t_pos,
                    prompt=task.prompt,
                    required=task.required,
                    evidence=task.evidence.model_dump(mode="json") if task.evidence else None,
                )
            )
        for c_pos, criterion in enumerate(section.rubric):
            session.add(
                Criterion(
                    credential_id=doc.id,
                    id=criterion.id,
                    section_id=section.id,
                    position=c_pos,
                    title=criterion.title,
                    description=criterion.description,
                )
            )
    _flush(session, doc)


def _flush(session: Session, doc: CredentialDoc) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent publish of the same id (or community)
        raise AlreadyExists("a credential with this id exists", id=doc.id) from exc


def _document(
    session: Session, credential: Credential, community: Community | None = None
) -> CredentialPublic:
    cid = credential.id
    sections = session.exec(
        select(Section).where(Section.credential_id == cid).order_by(col(Section.position))
    ).all()
    resources = session.exec(
        select(Resource).where(Resource.credential_id == cid).order_by(col(Resource.position))
    ).all()
    tasks = session.exec(select(Task).where(Task.credential_id == cid).order_by(col(Task.position))).all()
    criteria = session.exec(
        select(Criterion).where(Criterion.credential_id == cid).order_by(col(Criterion.position))
    ).all()
    if community is None and credential.community_id:
        community = session.get(Community, credential.community_id)
    return CredentialPublic(
        id=cid,
        title=credential.title,
        summary=credential.summary,
        price=Money(amount=credential.price_amount, currency=credential.price_currency),
        resubmission_price=Money(
            amount=credential.resubmission_amount, currency=credential.resubmission_currency
        ),
        community=CommunityDoc.model_validate(community, from_attributes=True) if community else None,
        submission_window=credential.submission_window,
        review_window=credential.review_window,
        payment_window=credential.payment_window,
        reminders_before_due=list(credential.reminders_before_due),
        evaluator_reminder_before=credential.evaluator_reminder_before,
        sections=[
            SectionDoc(
                id=s.id,
                title=s.title,
                guidance=s.guidance,
                resources=[ResourceDoc(title=r.title, url=r.url) for r in resources if r.section_id == s.id],
                tasks=[
                    TaskDoc(id=t.id, prompt=t.prompt, required=t.required, evidence=t.evidence)
                    for t in tasks
                    if t.section_id == s.id
                ],
                rubric=[
                    CriterionDoc(id=c.id, title=c.title, description=c.description)
                    for c in criteria
                    if c.section_id == s.id
                ],
            )
            for s in sections
        ],
        retired_at=credential.retired_at,
    )


def _row(session: Session, credential_id: str) -> Credential:
    return _with_community(session, credential_id)[0]


def _with_community(session: Session, credential_id: str) -> tuple[Credential, Community | None]:
    """A credential and its community, in one query."""
    row = session.exec(
        select(Credential, Community)
        .outerjoin(Community, col(Community.id) == Credential.community_id)
        .where(Credential.id == credential_id)
    ).first()
    if row is None:
        raise NotFound("no such credential", credential_id=credential_id)
    return row[0], row[1]


def get(session: Session, *, credential_id: str) -> CredentialPublic:
    """One credential, retired or not (its enrolments still read it)."""
    return _document(session, *_with_community(session, credential_id))


def purchasable(session: Session, *, credential_id: str) -> CredentialPublic:
    """The credential a member is buying; a retired one is refused."""
    doc = get(session, credential_id=credential_id)
    if doc.retired_at is not None:
        raise CredentialRetired(
            "this micro-credential is retired and can no longer be bought",
            credential_id=credential_id,
            retired_at=doc.retired_at,
        )
    return doc


def retire(
    session: Session, *, credential_id: str, actor: str, reason: str, now: datetime
) -> CredentialPublic:
    """Retire a credential from sale; retiring it again keeps the first retirement."""
    credential = _row(session, credential_id)
    if credential.retired_at is None:
        credential.retired_at, credential.retired_by, credential.retirement_reason = now, actor, reason
    return _document(session, credential)


CATALOG_ORDER = (Key(col(Credential.created_at), is_datetime=True), Key(col(Credential.id)))


def list_page(
    session: Session, *, include_retired: bool, cursor: str | None, limit: int
) -> tuple[list[CredentialPublic], str | None]:
    """One page of the catalog, oldest credential first, and the next page's cursor; retired
    credentials only when ``include_retired``."""
    query = select(Credential)
    if not include_retired:
        query = query.where(col(Credential.retired_at).is_(None))
    rows = session.exec(pagination.paginate(query, CATALOG_ORDER, cursor=cursor, limit=limit)).all()
    credentials, next_cursor = pagination.page(rows, limit=limit, key_of=lambda c: (c.created_at, c.id))
    return [_document(session, c) for c in credentials], next_cursor


def outline(doc: CredentialDoc) -> CredentialOutline:
    """What the enrolment workflow needs to know of a credential."""
    return CredentialOutline(
        id=doc.id,
        title=doc.title,
        price=doc.price,
        resubmission_price=doc.resubmission_price,
        community_id=doc.community.id if doc.community else None,
        policies=Policies(
            submission_window=doc.submission_window,
            review_window=doc.review_window,
            payment_window=doc.payment_window,
            reminders_before_due=list(doc.reminders_before_due),
            evaluator_reminder_before=doc.evaluator_reminder_before,
        ),
        sections=[
            SectionOutline(
                id=s.id,
                task_ids=[t.id for t in s.tasks],
                required_task_ids=[t.id for t in s.tasks if t.required],
                criterion_ids=[c.id for c in s.rubric],
            )
            for s in doc.sections
        ],
    )
