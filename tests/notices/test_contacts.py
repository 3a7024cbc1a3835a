"""Contacts: one person for several children, bad input refused whole, every change
audited, and a family seen only by the staff of its branches."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from komawari.audit.models import AuditEvent
from komawari.audit.service import Actor
from komawari.db.engine import session_scope
from komawari.errors import Conflict, NotFound
from komawari.notices import contacts
from komawari.notices.contact_schemas import ContactCreate, ContactUpdate, TeacherContactIn
from komawari.notices.enums import Relation
from komawari.notices.models import Contact, ContactStudent
from tests.factories import bookings, branches, people
from tests.factories.world import World, bearer, book, next_weekday, series_body

ACTOR = Actor("test", "pytest")
LINE_USER = "U" + "0123456789abcdef" * 2


def _add(db: Session, student_id: int, **body: Any) -> contacts.Added:
    wanted = ContactCreate.model_validate({"relation": "mother"} | body)
    return contacts.add_to_student(db, student_id=student_id, contact_in=wanted, actor=ACTOR)


def _actions(db: Session, contact_id: int) -> list[str]:
    query = select(AuditEvent.action).where(
        AuditEvent.subject_type == "contact", AuditEvent.subject_id == contact_id
    )
    return list(db.scalars(query.order_by(AuditEvent.id)))


# One person, one contact.


def test_a_guardian_of_two_children_is_one_contact_linked_to_each(db: Session) -> None:
    aoi, riku = people.student(db), people.student(db)
    first = _add(db, aoi.id, name="Tanaka Yoko", email="Yoko.Tanaka@Example.jp")
    second = _add(db, riku.id, name="Yoko T.", email="yoko.tanaka@example.jp", relation="guardian")
    assert (first.outcome, second.outcome) == ("created", "linked")
    assert second.contact.id == first.contact.id
    assert second.contact.name == "Tanaka Yoko", "the known contact keeps its own details"
    same = func.lower(Contact.email) == "yoko.tanaka@example.jp"
    assert db.scalar(select(func.count()).select_from(Contact).where(same)) == 1
    assert [x.relation for x in contacts.for_student(db, aoi.id)] == [Relation.MOTHER]
    assert [x.relation for x in contacts.for_student(db, riku.id)] == [Relation.GUARDIAN]
    both = contacts.for_students(db, [aoi.id, riku.id])
    assert {x.contact.id for s in both.values() for x in s} == {first.contact.id}
    assert _actions(db, first.contact.id) == ["contact.add", "contact.link"]


def test_the_same_line_account_links_the_contact_that_has_it(db: Session) -> None:
    aoi, riku = people.student(db), people.student(db)
    first = _add(db, aoi.id, name="Father", line_user_id=LINE_USER, relation="father")
    second = _add(db, riku.id, name="Dad", line_user_id=LINE_USER, relation="father")
    assert second.outcome == "linked"
    assert second.contact.id == first.contact.id


def test_a_known_contact_is_linked_by_its_id_and_a_second_time_only_changes_the_relation(
    db: Session,
) -> None:
    aoi, riku = people.student(db), people.student(db)
    made = _add(db, aoi.id, name="Grandma", relation="grandparent")
    linked = _add(db, riku.id, contact_id=made.contact.id, relation="grandparent")
    assert linked.outcome == "linked"
    again = _add(db, riku.id, contact_id=made.contact.id, relation="guardian")
    assert again.outcome == "already"
    assert [x.relation for x in contacts.for_student(db, riku.id)] == [Relation.GUARDIAN]
    count = select(func.count()).select_from(ContactStudent)
    assert db.scalar(count.where(ContactStudent.contact_id == made.contact.id)) == 2
    unchanged = _add(db, riku.id, contact_id=made.contact.id, relation="guardian")
    assert unchanged.outcome == "already"
    assert _actions(db, made.contact.id) == ["contact.add", "contact.link", "contact.link"]


def test_an_email_of_one_contact_and_a_line_account_of_another_is_refused(db: Session) -> None:
    aoi = people.student(db)
    _add(db, aoi.id, name="One", email="one@example.jp")
    _add(db, aoi.id, name="Two", line_user_id=LINE_USER)
    with pytest.raises(Conflict):
        _add(db, aoi.id, name="Both", email="ONE@example.jp", line_user_id=LINE_USER)


def test_an_email_belongs_to_one_contact(db: Session) -> None:
    aoi = people.student(db)
    one = _add(db, aoi.id, name="One", email="one@example.jp").contact
    two = _add(db, aoi.id, name="Two", email="two@example.jp").contact
    change = ContactUpdate.model_validate({"email": "One@Example.jp"})
    with pytest.raises(Conflict) as refused:
        contacts.update(db, contact_id=two.id, contact_in=change, actor=ACTOR)
    assert refused.value.extra["existing_contact_id"] == one.id
    teacher = people.teacher(db)
    mine = TeacherContactIn.model_validate({"name": "Sensei", "email": "two@example.jp"})
    with pytest.raises(Conflict):
        contacts.set_for_teacher(db, teacher_id=teacher.id, contact_in=mine, actor=ACTOR)


def test_preferences_change_per_kind_and_null_brings_a_kind_back_to_the_standard(
    db: Session,
) -> None:
    contact = _add(db, people.student(db).id, name="Mother", email="m@example.jp").contact
    first = ContactUpdate.model_validate(
        {"preferences": {"reminder": [], "cancel": ["line", "email", "line"]}}
    )
    contacts.update(db, contact_id=contact.id, contact_in=first, actor=ACTOR)
    assert contact.preferences == {"reminder": [], "cancel": ["email", "line"]}
    second = ContactUpdate.model_validate(
        {"preferences": {"cancel": None, "move": ["email"]}, "quiet_start": "22:30"}
    )
    contacts.update(db, contact_id=contact.id, contact_in=second, actor=ACTOR)
    db.expire_all()
    again = db.get_one(Contact, contact.id)
    assert again.preferences == {"reminder": [], "move": ["email"]}
    assert again.quiet_start == time(22, 30)
    assert again.quiet_end == time(8, 0), "a field left out stays"
    nothing = ContactUpdate.model_validate({"name": again.name})
    contacts.update(db, contact_id=contact.id, contact_in=nothing, actor=ACTOR)
    assert _actions(db, contact.id) == ["contact.add", "contact.update", "contact.update"]
    cleared = ContactUpdate.model_validate({"email": None})
    assert contacts.update(db, contact_id=contact.id, contact_in=cleared, actor=ACTOR).email is None


def test_unlinking_takes_the_contact_off_one_student_and_keeps_it(db: Session) -> None:
    aoi, riku = people.student(db), people.student(db)
    contact = _add(db, aoi.id, name="Mother", email="m@example.jp").contact
    _add(db, riku.id, name="Mother", email="m@example.jp")
    contacts.unlink(db, student_id=aoi.id, contact_id=contact.id, actor=ACTOR)
    assert contacts.for_student(db, aoi.id) == []
    assert [x.contact.id for x in contacts.for_student(db, riku.id)] == [contact.id]
    with pytest.raises(NotFound):
        contacts.unlink(db, student_id=aoi.id, contact_id=contact.id, actor=ACTOR)
    assert _actions(db, contact.id)[-1] == "contact.unlink"


def test_a_teacher_has_one_contact_of_their_own(db: Session) -> None:
    teacher = people.teacher(db)
    wanted = TeacherContactIn.model_validate({"name": "Sato", "email": "sato@example.jp"})
    made, created = contacts.set_for_teacher(
        db, teacher_id=teacher.id, contact_in=wanted, actor=ACTOR
    )
    assert created
    changed = TeacherContactIn.model_validate({"name": "Sato Sensei", "language": "en"})
    again, created = contacts.set_for_teacher(
        db, teacher_id=teacher.id, contact_in=changed, actor=ACTOR
    )
    assert not created
    assert again.id == made.id
    assert (again.name, again.email, again.language) == ("Sato Sensei", None, "en")
    assert contacts.for_teacher(db, teacher.id) is again
    assert _actions(db, made.id) == ["contact.add", "contact.update"]
    # A LINE link made with a code stays when the office sets the rest; null unlinks it.
    again.line_user_id = LINE_USER
    contacts.set_for_teacher(db, teacher_id=teacher.id, contact_in=changed, actor=ACTOR)
    assert again.line_user_id == LINE_USER
    unlinked = TeacherContactIn.model_validate(
        {"name": "Sato Sensei", "language": "en", "line_user_id": None}
    )
    contacts.set_for_teacher(db, teacher_id=teacher.id, contact_in=unlinked, actor=ACTOR)
    assert again.line_user_id is None


def test_a_students_branches_are_those_of_their_lessons_series_and_groups(db: Session) -> None:
    a, b, c, d = (branches.branch(db) for _ in range(4))
    teacher = people.teacher(db)
    kaito, mei, new = people.student(db), people.student(db), people.student(db)
    bookings.one_off(db, branch_id=a.id, teacher_id=teacher.id, student_id=kaito.id)
    bookings.one_off(db, branch_id=b.id, teacher_id=teacher.id, student_ids=[kaito.id, mei.id],
                     start_time="19:00", end_time="20:00")  # fmt: skip
    bookings.series(db, branch_id=c.id, teacher_id=teacher.id, student_id=kaito.id,
                    start_time="16:00", end_time="17:00")  # fmt: skip
    bookings.series(db, branch_id=d.id, teacher_id=teacher.id, student_ids=[mei.id],
                    start_time="14:00", end_time="15:00")  # fmt: skip
    found = contacts.student_branches(db, [kaito.id, mei.id, new.id])
    assert found == {
        kaito.id: frozenset({a.id, b.id, c.id}),
        mei.id: frozenset({b.id, d.id}),
        new.id: frozenset(),
    }


# Bad input, over the API: 422 naming the field, nothing written.


def _counts(engine: Engine) -> tuple[int, int, int]:
    with session_scope(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(Contact)) or 0,
            s.scalar(select(func.count()).select_from(ContactStudent)) or 0,
            s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Yoko", "relation": "mother", "email": "not-an-email"}, "email"),
        ({"name": "Yoko", "relation": "mother", "email": "yoko@localhost"}, "email"),
        ({"name": "Yoko", "relation": "mother", "language": "fr"}, "language"),
        ({"name": "   ", "relation": "mother"}, "name"),
        ({"name": "Yoko", "relation": "uncle"}, "relation"),
        ({"relation": "mother"}, "name"),
        ({"name": "Yoko", "relation": "mother", "line_user_id": "yoko"}, "line_user_id"),
        ({"contact_id": 1, "relation": "mother", "email": "y@example.jp"}, "email"),
        ({"name": "Yoko", "relation": "mother", "phone": "03"}, "phone"),
    ],
)
def test_a_bad_new_contact_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, world: World, committed_engine: Engine, body: dict[str, Any], field: str
) -> None:
    before = _counts(committed_engine)
    answer = client.post(
        f"/api/students/{world.student_1}/contacts", json=body, headers=bearer(world.admin)
    )
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert _counts(committed_engine) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "yoko at example"}, "email"),
        ({"language": "de"}, "language"),
        ({"language": None}, "language"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"quiet_start": "25:00"}, "quiet_start"),
        ({"preferences": {"gossip": ["email"]}}, "preferences.gossip.[key]"),
        ({"preferences": {"cancel": ["sms"]}}, "preferences.cancel.0"),
    ],
)
def test_a_bad_change_is_422_naming_the_field_and_changes_nothing(
    client: TestClient, world: World, committed_engine: Engine, body: dict[str, Any], field: str
) -> None:
    made = client.post(
        f"/api/students/{world.student_1}/contacts",
        json={"name": "Yoko", "relation": "mother", "email": "yoko@example.jp"},
        headers=bearer(world.admin),
    ).json()
    before = (
        _counts(committed_engine),
        client.get(f"/api/contacts/{made['id']}", headers=bearer(world.admin)).json(),
    )
    answer = client.patch(f"/api/contacts/{made['id']}", json=body, headers=bearer(world.admin))
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    after = (
        _counts(committed_engine),
        client.get(f"/api/contacts/{made['id']}", headers=bearer(world.admin)).json(),
    )
    assert after == before


def test_the_api_adds_lists_changes_and_unlinks_with_its_status_codes(
    client: TestClient, world: World
) -> None:
    admin = bearer(world.admin)
    url = f"/api/students/{world.student_1}/contacts"
    made = client.post(url, json={"name": "Yoko", "relation": "mother", "email": "Y@example.jp"},
                       headers=admin)  # fmt: skip
    assert made.status_code == 201
    assert made.json()["outcome"] == "created"
    assert made.json()["line_linked"] is False
    assert "line_user_id" not in made.json()
    sibling = client.post(
        f"/api/students/{world.student_2}/contacts",
        json={"name": "Yoko", "relation": "mother", "email": "y@EXAMPLE.jp"},
        headers=admin,
    )
    assert sibling.status_code == 200
    assert (sibling.json()["id"], sibling.json()["outcome"]) == (made.json()["id"], "linked")
    listed = client.get(url, headers=admin).json()
    assert [(c["id"], c["relation"]) for c in listed["items"]] == [(made.json()["id"], "mother")]
    changed = client.patch(
        f"/api/contacts/{made.json()['id']}",
        json={"preferences": {"reminder": []}, "quiet_end": "07:30"},
        headers=admin,
    )
    assert changed.status_code == 200
    assert changed.json()["preferences"] == {"reminder": []}
    assert changed.json()["quiet_end"] == "07:30"
    gone = client.delete(f"{url}/{made.json()['id']}", headers=admin)
    assert gone.status_code == 204
    assert client.get(url, headers=admin).json()["items"] == []
    assert client.delete(f"{url}/{made.json()['id']}", headers=admin).status_code == 404
    teacher = f"/api/teachers/{world.teacher_1}/contact"
    assert client.put(teacher, json={"name": "Sato"}, headers=admin).status_code == 201
    again = client.put(teacher, json={"name": "Sato", "language": "en"}, headers=admin)
    assert again.status_code == 200
    assert again.json()["teacher_id"] == world.teacher_1


# Who may: staff of the family's branches (404 elsewhere), never a teacher.


def test_staff_of_another_branch_neither_see_nor_change_a_family(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    admin, staff = bearer(world.admin), bearer(world.staff_a)
    # Student 3 has a lesson at B only; student 1 one at A; student 2 none anywhere yet.
    book(committed_engine, world, next_weekday(3), "10:00", "11:00", branch_id=world.branch_b,
         teacher_id=world.teacher_2, student_id=world.student_3)  # fmt: skip
    book(committed_engine, world, next_weekday(3), "12:00", "13:00")
    b_url = f"/api/students/{world.student_3}/contacts"
    b_family = client.post(b_url, json={"name": "B mother", "relation": "mother"},
                           headers=admin).json()  # fmt: skip
    before = _counts(committed_engine)
    assert client.get(b_url, headers=staff).status_code == 404
    assert client.post(b_url, json={"name": "X", "relation": "father"},
                       headers=staff).status_code == 404  # fmt: skip
    assert client.delete(f"{b_url}/{b_family['id']}", headers=staff).status_code == 404
    contact = f"/api/contacts/{b_family['id']}"
    assert client.get(contact, headers=staff).status_code == 404
    assert client.patch(contact, json={"name": "Y"}, headers=staff).status_code == 404
    assert client.post(f"{contact}/line-code", headers=staff).status_code == 404
    # Naming B's contact by id to link it to A's student is 404 too: nothing leaks.
    a_url = f"/api/students/{world.student_1}/contacts"
    linked = client.post(a_url, json={"contact_id": b_family["id"], "relation": "mother"},
                         headers=staff)  # fmt: skip
    assert linked.status_code == 404
    assert _counts(committed_engine) == before
    # Their own branch's family, and a student with no lesson yet: theirs to keep.
    assert client.post(a_url, json={"name": "A mother", "relation": "mother"},
                       headers=staff).status_code == 201  # fmt: skip
    new = f"/api/students/{world.student_2}/contacts"
    assert client.post(new, json={"name": "New mother", "relation": "mother"},
                       headers=staff).status_code == 201  # fmt: skip
    # A teacher's token: 403 before anything is looked up.
    assert client.get(a_url, headers=bearer(world.teacher)).status_code == 403
    assert client.get(contact, headers=bearer(world.teacher)).status_code == 403


def test_a_sibling_at_the_callers_branch_makes_the_shared_guardian_theirs(
    client: TestClient, world: World, committed_engine: Engine
) -> None:
    admin, staff = bearer(world.admin), bearer(world.staff_a)
    made = client.post("/api/class-series", json=series_body(world, branch_id=world.branch_b,
                       teacher_id=world.teacher_2, room_id=world.room_b,
                       student_id=world.student_3), headers=admin)  # fmt: skip
    assert made.status_code == 201
    family = client.post(f"/api/students/{world.student_3}/contacts",
                         json={"name": "Shared", "relation": "mother", "email": "s@example.jp"},
                         headers=admin).json()  # fmt: skip
    assert client.get(f"/api/contacts/{family['id']}", headers=staff).status_code == 404
    book(committed_engine, world, next_weekday(3), "12:00", "13:00")  # student 1 at A
    client.post(f"/api/students/{world.student_1}/contacts",
                json={"name": "Shared", "relation": "mother", "email": "s@example.jp"},
                headers=admin)  # fmt: skip
    assert client.get(f"/api/contacts/{family['id']}", headers=staff).status_code == 200


def test_the_schemas_refuse_what_the_pages_would_too() -> None:
    with pytest.raises(ValidationError):
        ContactUpdate.model_validate({"preferences": {"reminder": ["fax"]}})
    assert ContactCreate.model_validate({"relation": "self", "name": "Aoi"}).language == "ja"
