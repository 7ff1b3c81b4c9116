"""Key rotation for the roster's encrypted columns."""

from __future__ import annotations

from django.db import transaction

from tuanju.audit.actions import record
from tuanju.core.crypto import cipher
from tuanju.people.models import Person


def rotate_person_keys(*, batch_size: int = 2000, reindex: bool = False, echo=None) -> dict:
    """Re-encrypt rows not under the primary key (all rows with ``reindex``), batch by batch.

    Each batch commits on its own, so an interrupted rotation resumes where it stopped: rows
    already under the new key are skipped by the next run.
    """
    c = cipher()
    last_pk, seen, rewritten = 0, 0, 0
    while True:
        batch = list(
            Person.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .only("pk", "resident_id_enc", "phone_enc")[:batch_size]
        )
        if not batch:
            break
        last_pk = batch[-1].pk
        seen += len(batch)
        changed = []
        for person in batch:
            if reindex or c.needs_rotation(person.resident_id_enc) or c.needs_rotation(person.phone_enc):
                person.set_resident_id(c.decrypt(person.resident_id_enc))
                person.set_phone(c.decrypt(person.phone_enc))
                changed.append(person)
        if changed:
            with transaction.atomic():
                Person.objects.bulk_update(
                    changed,
                    ["resident_id_enc", "resident_id_bidx", "phone_enc", "phone_bidx"],
                    batch_size=500,
                )
            rewritten += len(changed)
        if echo:
            echo(f"{seen} checked, {rewritten} re-encrypted")
    result = {"checked": seen, "reencrypted": rewritten}
    record(None, "update", None, details={"rotation": result, "reindex": reindex})
    return result
