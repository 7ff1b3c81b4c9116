"""Domain operations on the roster. Views, API and commands call these."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from tuanju.audit.actions import record
from tuanju.imports.actions import register
from tuanju.people.importing import RosterSpec
from tuanju.people.models import ContactLog, LiaisonDuty, Person, Tag

EDITABLE_FIELDS = [
    "name",
    "gender",
    "birth_date",
    "political_status",
    "ethnicity",
    "education",
    "category",
    "employer",
    "skills",
    "interests",
    "needs",
    "notes",
    "is_backbone",
    "in_talent_pool",
    "is_mentor",
    "unit",
]


@register("roster")
def roster_spec(unit):
    return RosterSpec(unit)


def _snapshot(person: Person) -> dict:
    data = {f: getattr(person, f"{f}_id" if f in ("category", "unit") else f) for f in EDITABLE_FIELDS}
    data["birth_date"] = data["birth_date"].isoformat() if data["birth_date"] else None
    data["resident_id"] = person.resident_id_masked
    data["phone"] = person.phone_masked
    return data


@transaction.atomic
def save_person(person: Person, *, data: dict, resident_id: str | None, phone: str | None, actor) -> Person:
    """Create or update a person from cleaned form/API data (same rules as the import)."""
    creating = person.pk is None
    before = {} if creating else _snapshot(person)
    for field, value in data.items():
        setattr(person, field, value)
    if resident_id is not None:
        person.set_resident_id(resident_id)
    if phone is not None:
        person.set_phone(phone)
    person.full_clean(exclude=["resident_id_enc", "phone_enc", "mentors", "tags"])
    person.save()
    after = _snapshot(person)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    record(actor, "create" if creating else "update", person, details={"changes": changes})
    return person


def reveal(person: Person, *, actor, field: str) -> str:
    """Decrypt one personal field for a user whose role may see it; every call is audit-logged."""
    if not actor.can_unmask:
        raise PermissionError("role may not see personal data")
    value = person.reveal_resident_id() if field == "resident_id" else person.reveal_phone()
    record(actor, "view_pii", person, details={"field": field})
    return value


@transaction.atomic
def bulk_tag(people, tag_name: str, *, actor) -> int:
    tag, _ = Tag.objects.get_or_create(name=tag_name.strip()[:30])
    ids = list(people.values_list("pk", flat=True))
    through = Person.tags.through
    existing = set(through.objects.filter(tag=tag, person_id__in=ids).values_list("person_id", flat=True))
    through.objects.bulk_create([through(person_id=i, tag=tag) for i in ids if i not in existing])
    record(actor, "update", None, details={"bulk": "tag", "tag": tag.name, "people": len(ids)})
    return len(ids)


@transaction.atomic
def bulk_set_backbone(people, value: bool, *, actor) -> int:
    count = people.update(is_backbone=value, updated_at=timezone.now())
    record(actor, "update", None, details={"bulk": "backbone", "value": value, "people": count})
    return count


@transaction.atomic
def bulk_move(people, unit, *, actor) -> int:
    count = people.update(unit=unit, updated_at=timezone.now())
    record(actor, "move", None, unit=unit, details={"bulk": "move", "to": unit.code, "people": count})
    return count


@transaction.atomic
def log_contact(
    person: Person, *, cadre, contacted_on: date, channel: str, summary: str, follow_up: str = ""
) -> ContactLog:
    entry = ContactLog(
        person=person,
        cadre=cadre,
        contacted_on=contacted_on,
        channel=channel,
        summary=summary,
        follow_up=follow_up,
    )
    entry.full_clean()
    entry.save()
    record(cadre, "create", entry, unit=person.unit, details={"person": person.pk, "channel": channel})
    return entry


@transaction.atomic
def assign_duty(cadre, people, *, actor) -> int:
    existing = set(LiaisonDuty.objects.filter(cadre=cadre).values_list("person_id", flat=True))
    new = [LiaisonDuty(cadre=cadre, person=p) for p in people if p.pk not in existing]
    LiaisonDuty.objects.bulk_create(new)
    record(actor, "create", cadre, details={"duty": "1+N", "people": [p.pk for p in new]})
    return len(new)


def duty_board(duties, *, today: date | None = None):
    """Each cadre's youth with the last contact date; ``overdue`` when older than the configured period."""
    today = today or timezone.localdate()
    limit = today - timedelta(days=settings.TUANJU["CONTACT_OVERDUE_DAYS"])
    rows = (
        duties.select_related("cadre", "person", "person__unit")
        .annotate(
            last_contact=Max("person__contacts__contacted_on", filter=Q(person__contacts__cadre=F("cadre")))
        )
        .order_by("cadre__username", "person__name")
    )
    board: dict = {}
    for duty in rows:
        duty.overdue = duty.last_contact is None or duty.last_contact < limit
        board.setdefault(duty.cadre, []).append(duty)
    return board
