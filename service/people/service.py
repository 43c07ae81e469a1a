"""People: who holds a role. Tokens (and later the web sign-in) belong to a person,
take her role and scope, and every write names her as `actor` (`person:<id>`), so
the four-eyes rules compare persons, never tokens.

Only an admin creates people (a chair who could make people could make a second
"person" to approve her own applications). A club-scoped person is recorded in
her club's fund's audit log; an admin or area-scoped person in the service-wide
log, where tokens are recorded too.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from ledger.people import normalise_phone
from service.audit.service import record_write
from service.context import RequestContext
from service.errors import DuplicatePhone, InvalidScope, NotFound, UnknownMember
from service.ids import new_id
from service.language import Text
from service.people import repository
from service.people.schemas import PersonCreate, PersonRead

CLUB_ROLES = ("treasurer", "chair")


async def parse_scope(
    connection: asyncpg.Connection, role: str, scope: str | None
) -> tuple[uuid.UUID | None, str | None]:
    """(club id, area code) of a scope, checked against the role and the reference data."""
    if role == "admin":
        if scope is not None:
            raise InvalidScope(Text("an admin has no scope (she sees every fund)",
                                    "quản trị viên không có phạm vi (thấy mọi quỹ)"))
        return None, None
    if scope is None:
        needed = "`club:<club_id>`" if role in CLUB_ROLES else "`club:<club_id>` or `area:<code>`"
        raise InvalidScope(Text("a {role} needs a scope: {needed}",
                                "vai trò {role} cần một phạm vi: {needed}"),
                           role=role, needed=needed)
    kind, _, value = scope.partition(":")
    if kind == "club":
        try:
            club_id = uuid.UUID(value)
        except ValueError as error:
            raise InvalidScope(Text("{value} is not a club id",
                                    "{value} không phải mã câu lạc bộ"),
                               value=repr(value)) from error
        if not await repository.club_exists(connection, club_id):
            raise InvalidScope(Text("club {club} does not exist", "không có câu lạc bộ {club}"),
                               club=club_id)
        return club_id, None
    if role in CLUB_ROLES:
        raise InvalidScope(Text("a {role} is scoped to one club: `club:<club_id>`",
                                "vai trò {role} chỉ có phạm vi một câu lạc bộ:"
                                " `club:<club_id>`"), role=role)
    if not await repository.area_exists(connection, value):
        raise InvalidScope(Text("area {value} does not exist", "không có địa bàn {value}"),
                           value=repr(value))
    return None, value


def person_read(record: asyncpg.Record) -> PersonRead:
    return PersonRead(**{k: v for k, v in dict(record).items() if k != "scope_club_id"})


async def audit_log_of(
    connection: asyncpg.Connection, scope_club_id: uuid.UUID | None
) -> uuid.UUID | None:
    """Where a person's writes (her creation, her tokens') are recorded: her club's
    fund, or the service-wide log (None) for an admin or an area's person."""
    if scope_club_id is None:
        return None
    return await repository.club_fund_id(connection, scope_club_id)


async def add_person(
    connection: asyncpg.Connection, body: PersonCreate, created_by: str, now: datetime
) -> tuple[PersonRead, uuid.UUID | None]:
    """Create a person on `connection` (inside the caller's transaction); the person and
    the audit log she belongs to."""
    phone = normalise_phone(body.phone) if body.phone is not None else None
    if phone is not None and await repository.phone_taken(connection, phone):
        raise DuplicatePhone(Text("another person has the phone number {phone}",
                                  "đã có người khác dùng số điện thoại {phone}"), phone=phone)
    club_id, area_code = await parse_scope(connection, body.role, body.scope)
    if body.member_id is not None:
        if club_id is None:
            raise UnknownMember(Text(
                "only a person scoped to a club can be one of its members",
                "chỉ người có phạm vi một câu lạc bộ mới có thể là thành viên của nó"))
        if not await repository.is_member_of(connection, body.member_id, club_id):
            raise UnknownMember(Text("member {member} is not a member of club {club}",
                                     "{member} không phải thành viên câu lạc bộ {club}"),
                                member=body.member_id, club=club_id)
    record = await repository.insert_person(
        connection, person_id=new_id(), name=body.name, phone=phone, role=body.role,
        scope_club_id=club_id, scope_area_code=area_code, member_id=body.member_id,
        created_at=now, created_by=created_by,
    )
    return person_read(record), await audit_log_of(connection, club_id)


async def create_person(ctx: RequestContext, body: PersonCreate) -> PersonRead:
    person, log_id = await add_person(ctx.connection, body, ctx.actor, ctx.now)
    if log_id is not None:
        ctx.writes_to_fund(log_id)
    await record_write(ctx, log_id, "person.created", person.model_dump(mode="json"))
    return person


async def get_person(ctx: RequestContext, person_id: uuid.UUID) -> PersonRead:
    """A person in the caller's scope: an admin sees everyone; others see the people
    of the clubs in their scope, and themselves. Anyone else is not found."""
    record = await repository.get_person(ctx.connection, person_id)
    principal = ctx.principal
    visible = record is not None and (
        principal is None
        or principal.person_id == person_id
        or principal.club_ids is None
        or (record["scope_club_id"] is not None and principal.sees_club(record["scope_club_id"]))
    )
    if record is None or not visible:
        raise NotFound("person", person_id)
    return person_read(record)
