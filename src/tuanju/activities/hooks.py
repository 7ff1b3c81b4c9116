"""What the organizations app asks of activities (organizations/hooks.py): which organizations
held an activity since a date (the 四有 "有活动" criterion) and what each held in a month (the
alliance duty board). An organization "held" an activity when it organized it, or when it was
the duty society of an alliance activity; only published activities that have started count."""

from __future__ import annotations

from datetime import date, datetime, time

from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from tuanju.organizations.hooks import ActivityRef
from tuanju.organizations.models import add_months

from .models import Activity


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class ActivitySource:
    def active_since(self, since: date):
        """A one-column queryset of organization ids (used as a subquery by the 四有 check)."""
        return (
            Activity.objects.held()
            .filter(starts_at__gte=_start_of(since))
            .annotate(org=Coalesce(F("organization_id"), F("duty_organization_id")))
            .filter(org__isnull=False)
            .values("org")
        )

    def held_in_month(self, org_ids, month: date) -> dict[int, list[ActivityRef]]:
        org_ids = list(org_ids)
        result: dict[int, list[ActivityRef]] = {pk: [] for pk in org_ids}
        start, end = _start_of(month.replace(day=1)), _start_of(add_months(month.replace(day=1), 1))
        rows = (
            Activity.objects.held()
            .filter(starts_at__gte=start, starts_at__lt=end)
            .for_organization(org_ids)
            .order_by("starts_at", "pk")
            .values_list("pk", "title", "starts_at", "organization_id", "duty_organization_id")
        )
        for pk, title, starts_at, org, duty in rows:
            ref = ActivityRef(
                title, timezone.localtime(starts_at).date(), reverse("activities:detail", args=[pk])
            )
            for owner in {org, duty}:
                if owner in result:
                    result[owner].append(ref)
        return result
