"""Keep the group counters right whatever deletes a membership or a liaison.

Deletes come from the actions, from cascades (a person or a staff account removed) and from
the admin; all of them pass through ``post_delete``. Additions are counted by the actions and
the bulk paths themselves (``bulk_create`` and raw inserts send no signal).
"""

from django.db.models import F
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import ChatGroup, GroupLiaison, GroupMember


@receiver(post_delete, sender=GroupMember)
def member_deleted(sender, instance: GroupMember, **kwargs) -> None:
    ChatGroup.objects.filter(pk=instance.group_id, member_count__gt=0).update(
        member_count=F("member_count") - 1
    )
    if not instance.is_primary:
        return
    ChatGroup.objects.filter(pk=instance.group_id, placed_count__gt=0).update(
        placed_count=F("placed_count") - 1
    )
    # The person's next-oldest membership becomes their home group.
    successor = (
        GroupMember.objects.filter(person_id=instance.person_id)
        .exclude(pk=instance.pk)
        .order_by("joined_on", "pk")
        .first()
    )
    if successor is not None:
        GroupMember.objects.filter(pk=successor.pk).update(is_primary=True)
        ChatGroup.objects.filter(pk=successor.group_id).update(placed_count=F("placed_count") + 1)


@receiver(post_delete, sender=GroupLiaison)
def liaison_deleted(sender, instance: GroupLiaison, **kwargs) -> None:
    ChatGroup.objects.filter(pk=instance.group_id, liaison_count__gt=0).update(
        liaison_count=F("liaison_count") - 1
    )
