"""Dashboards at any node of the unit tree, and the cadre's work page."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tuanju.hierarchy.models import OrgUnit

from . import aggregates, dashboard, ledgers, tasks
from .models import (
    AssignmentStatus,
    Ledger,
    LedgerStatus,
    Publication,
    PublicationStatus,
    ReadReceipt,
    RefreshRun,
    Task,
    TaskAssignment,
    TaskStatus,
)


def visible_unit(request, code: str | None) -> OrgUnit:
    """The unit of ``code`` if the user may see it (404 otherwise); without a code, the user's own."""
    units = OrgUnit.objects.visible_to(request.user)
    if code:
        return get_object_or_404(units, code=code[:32])
    if request.user.unit_id:
        return request.user.unit
    root = units.filter(depth=1).first()
    if root is None:
        raise Http404(_("No unit to show."))
    return root


@login_required
@require_GET
def dashboard_view(request, code: str | None = None):
    unit = visible_unit(request, code)
    board = dashboard.build(unit, request.user)
    breadcrumb = [u for u in unit.breadcrumb() if request.user.is_superuser or u.path.startswith(request.user.unit.path)]
    context = {
        "unit": unit,
        "board": board,
        "breadcrumb": breadcrumb,
        "can_write": request.user.can_write,
        "last_run": aggregates.last_refresh(),
        "charts": board.charts,
        "map_url": board.map_url,
    }
    return render(request, "insights/dashboard.html", context)


@login_required
@require_POST
def refresh_view(request, code: str):
    unit = visible_unit(request, code)
    if not request.user.can_write:
        raise PermissionDenied(_("Your role may not refresh the figures."))
    recent = RefreshRun.objects.filter(
        scope_code=unit.code, finished_at__isnull=True, started_at__gte=timezone.now() - timedelta(minutes=5)
    ).exists()
    if recent:
        messages.info(request, _("A refresh of these figures is already running."))
    else:
        tasks.refresh_unit_task(unit.pk, "manual")
        messages.success(request, _("The figures are being recomputed; reload the page in a moment."))
    return redirect("insights:unit", code=unit.code)


@login_required
@require_GET
def work(request):
    """The cadre's desk: tasks received and sent, this week's ledgers, the board below, news."""
    user = request.user
    unit = visible_unit(request, request.GET.get("unit"))
    now = timezone.now()
    received = (
        TaskAssignment.objects.visible_to(user)
        .filter(unit__path__startswith=unit.path, task__status=TaskStatus.OPEN)
        .exclude(task__unit__path__startswith=user.unit.path if user.unit_id else "~")
        .exclude(status=AssignmentStatus.DONE)
        .select_related("task", "task__unit", "unit")
        .order_by("task__deadline")[:20]
    )
    sent = (
        Task.objects.visible_to(user)
        .filter(unit__path__startswith=unit.path, status=TaskStatus.OPEN)
        .select_related("unit")
        .order_by("deadline")[:20]
    )
    sent = list(sent)
    for task in sent:
        rows = list(task.assignments.values_list("status", flat=True))
        task.total = len(rows)
        task.done = sum(1 for s in rows if s == AssignmentStatus.DONE)
        task.overdue_count = (task.total - task.done) if task.deadline < now else 0
    my_ledgers = (
        Ledger.objects.visible_to(user)
        .filter(Q(unit=unit) | Q(unit__path__startswith=unit.path, unit__depth=unit.depth + 1))
        .exclude(status=LedgerStatus.SUBMITTED)
        .select_related("unit")
        .order_by("week_start", "unit__path")[:20]
    )
    week = ledgers.last_week()
    board = ledgers.board(unit, week)
    read = ReadReceipt.objects.filter(user=user).values("publication_id")
    news = (
        Publication.objects.visible_to(user)
        .filter(status=PublicationStatus.PUBLISHED)
        .exclude(pk__in=read)
        .exclude(unit=user.unit)
        .select_related("unit")[:8]
    )
    context = {
        "unit": unit,
        "received": received,
        "sent": sent,
        "my_ledgers": my_ledgers,
        "board": board,
        "week": week,
        "news": news,
        "now": now,
        "can_write": user.can_write,
    }
    return render(request, "insights/work.html", context)
