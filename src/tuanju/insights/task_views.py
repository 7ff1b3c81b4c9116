"""Tasks sent down the hierarchy (任务下达), their progress (督导) and the units' feedback (反馈)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.audit.actions import record
from tuanju.core.views import paginate
from tuanju.hierarchy.models import OrgUnit

from . import actions, exporting
from .forms import CommentForm, ReasonForm, ReportForm, TaskForm
from .ledger_views import xlsx_response
from .models import (
    AssignmentStatus,
    ChecklistEntry,
    Task,
    TaskAssignment,
    TaskAttachment,
    TaskEvidence,
    TaskStatus,
)
from .views import visible_unit


def _task(request, pk: int) -> Task:
    return get_object_or_404(Task.objects.visible_to(request.user).select_related("unit", "created_by"), pk=pk)


def _assignment(request, task: Task, aid: int) -> TaskAssignment:
    return get_object_or_404(
        TaskAssignment.objects.visible_to(request.user).select_related("unit", "task", "task__unit"), pk=aid, task=task
    )


def _errors(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
@require_GET
def task_list(request):
    user = request.user
    tab = request.GET.get("tab", "received" if user.unit_id else "sent")
    unit = visible_unit(request, request.GET.get("unit"))
    status = request.GET.get("status", "open")
    tasks = Task.objects.visible_to(user).select_related("unit")
    if tab == "sent":
        tasks = tasks.filter(unit__path__startswith=unit.path)
    else:
        mine = TaskAssignment.objects.visible_to(user).filter(unit__path__startswith=unit.path)
        tasks = tasks.filter(pk__in=mine.values("task_id"))
        if user.unit_id:
            tasks = tasks.exclude(unit__path__startswith=user.unit.path)
    if status in TaskStatus.values:
        tasks = tasks.filter(status=status)
    if term := request.GET.get("q", "").strip()[:50]:
        tasks = tasks.filter(title__contains=term)
    now = timezone.now()
    visible_assignments = TaskAssignment.objects.visible_to(user).filter(unit__path__startswith=unit.path)
    tasks = tasks.annotate(
        recipients=Count("assignments", filter=Q(assignments__in=visible_assignments.values("pk")), distinct=True),
        done=Count(
            "assignments",
            filter=Q(assignments__in=visible_assignments.values("pk"), assignments__status=AssignmentStatus.DONE),
            distinct=True,
        ),
    ).order_by("status", "deadline")
    context = {
        "tab": tab,
        "unit": unit,
        "status": status,
        "q": request.GET.get("q", ""),
        "page_obj": paginate(request, tasks, per_page=30),
        "now": now,
        "can_write": user.can_write,
    }
    return render(request, "insights/tasks.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def task_create(request):
    actions.require_writer(request.user)
    sender = visible_unit(request, request.POST.get("sender") or request.GET.get("sender"))
    initial = {}
    if to := request.GET.get("to", "").strip()[:32]:
        target = OrgUnit.objects.visible_to(request.user).filter(code=to).first()
        if target is not None:
            if target.depth == sender.depth + 1:
                initial.update(mode="chosen", children=[target.code])
            else:
                initial.update(mode="chosen", codes=target.code)
    form = TaskForm(request.POST or None, request.FILES or None, sender=sender, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task = actions.create_task(
                actor=request.user,
                sender=sender,
                title=data["title"],
                description=data["description"],
                deadline=data["deadline"],
                recipients=data["recipients"],
                required_figures=actions.clean_required_figures(data["required_figures"]),
                remind_days=data["remind_days"],
                files=data["files"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("The task was sent to %(n)s units.") % {"n": len(data["recipients"])}
            )
            return redirect("insights:task", pk=task.pk)
    return render(request, "insights/task_form.html", {"form": form, "sender": sender})


@login_required
@require_GET
def task_detail(request, pk: int):
    task = _task(request, pk)
    user = request.user
    sender_side = actions.is_sender_side(user, task)
    assignments = list(
        TaskAssignment.objects.visible_to(user)
        .filter(task=task)
        .select_related("unit")
        .annotate(comment_count=Count("comments"))
        .order_by("unit__path")
    )
    if not sender_side and len(assignments) == 1:
        return redirect("insights:assignment", pk=task.pk, aid=assignments[0].pk)
    totals: dict[str, float] = {}
    for a in assignments:
        for f in task.required_figures:
            value = a.figures.get(f["key"])
            if isinstance(value, int | float):
                totals[f["key"]] = totals.get(f["key"], 0) + value
    rows = [(a, [a.figures.get(f["key"]) for f in task.required_figures]) for a in assignments]
    state = request.GET.get("state", "")
    if state == "overdue":
        rows = [r for r in rows if r[0].is_overdue]
    elif state in AssignmentStatus.values:
        rows = [r for r in rows if r[0].status == state]
    counts = {
        "total": len(assignments),
        "done": sum(1 for a in assignments if a.status == AssignmentStatus.DONE),
        "in_progress": sum(1 for a in assignments if a.status == AssignmentStatus.IN_PROGRESS),
        "pending": sum(1 for a in assignments if a.status == AssignmentStatus.PENDING),
        "overdue": sum(1 for a in assignments if a.is_overdue),
        "unread": sum(1 for a in assignments if a.read_at is None),
    }
    context = {
        "task": task,
        "rows": rows,
        "totals": [totals.get(f["key"]) for f in task.required_figures],
        "counts": counts,
        "state": state,
        "sender_side": sender_side,
        "can_write": user.can_write,
        "attachments": task.attachments.all(),
        "percent_done": round(100 * counts["done"] / counts["total"]) if counts["total"] else 0,
    }
    return render(request, "insights/task.html", context)


@login_required
@require_GET
def assignment_detail(request, pk: int, aid: int):
    task = _task(request, pk)
    assignment = _assignment(request, task, aid)
    actions.mark_read(assignment, request.user)
    receiver = actions.is_receiver_side(request.user, assignment)
    sender = actions.is_sender_side(request.user, task)
    timeline = sorted(
        [("report", r.created_at, r) for r in assignment.reports.select_related("author").prefetch_related("evidence")]
        + [("comment", c.created_at, c) for c in assignment.comments.select_related("author", "author_unit")],
        key=lambda item: item[1],
    )
    context = {
        "task": task,
        "assignment": assignment,
        "timeline": timeline,
        "figures": [(f, assignment.figures.get(f["key"])) for f in task.required_figures],
        "report_form": ReportForm(task=task, initial={"progress": assignment.progress}) if receiver else None,
        "comment_form": CommentForm() if (receiver or sender) and request.user.can_write else None,
        "reopen_form": ReasonForm() if sender and assignment.status == AssignmentStatus.DONE else None,
        "receiver": receiver,
        "sender": sender,
        "can_write": request.user.can_write,
        "attachments": task.attachments.all(),
    }
    return render(request, "insights/assignment.html", context)


@login_required
@require_POST
def assignment_report(request, pk: int, aid: int):
    task = _task(request, pk)
    assignment = _assignment(request, task, aid)
    form = ReportForm(request.POST, request.FILES, task=task)
    if form.is_valid():
        try:
            actions.report_progress(
                assignment,
                actor=request.user,
                progress=form.cleaned_data["progress"],
                figures=form.figures(),
                note=form.cleaned_data["note"],
                done=form.cleaned_data["done"],
                files=form.cleaned_data["files"],
            )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("Progress reported."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("insights:assignment", pk=task.pk, aid=assignment.pk)


@login_required
@require_POST
def assignment_comment(request, pk: int, aid: int):
    task = _task(request, pk)
    assignment = _assignment(request, task, aid)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            actions.add_comment(assignment, actor=request.user, body=form.cleaned_data["body"])
        except ValidationError as exc:
            _errors(request, exc)
    else:
        messages.error(request, "请填写内容。")
    return redirect("insights:assignment", pk=task.pk, aid=assignment.pk)


@login_required
@require_POST
def assignment_reopen(request, pk: int, aid: int):
    task = _task(request, pk)
    assignment = _assignment(request, task, aid)
    form = ReasonForm(request.POST)
    try:
        actions.reopen_assignment(assignment, actor=request.user, reason=form.data.get("reason", ""))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("insights:assignment", pk=task.pk, aid=assignment.pk)


@login_required
@require_POST
def task_close(request, pk: int):
    task = _task(request, pk)
    actions.close_task(task, actor=request.user, reopen=request.POST.get("reopen") == "1")
    return redirect("insights:task", pk=task.pk)


@login_required
@require_GET
def task_export(request, pk: int):
    task = _task(request, pk)
    assignments = (
        TaskAssignment.objects.visible_to(request.user).filter(task=task).select_related("unit", "task").order_by("unit__path")
    )
    content = exporting.task_xlsx(task, assignments)
    record(request.user, "export", task, details={"kind": "task_progress_xlsx"})
    return xlsx_response(content, f"任务进度-{task.title[:30]}.xlsx")


def _file_response(stored, name: str, content_type: str):
    try:
        handle = stored.open("rb")
    except FileNotFoundError as exc:
        from django.http import Http404

        raise Http404 from exc
    response = FileResponse(handle, as_attachment=True, filename=name, content_type=content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


@login_required
@require_GET
def attachment_file(request, pk: int):
    attachment = get_object_or_404(TaskAttachment.objects.select_related("task"), pk=pk)
    if not Task.objects.visible_to(request.user).filter(pk=attachment.task_id).exists():
        from django.http import Http404

        raise Http404
    return _file_response(attachment.file, attachment.name, attachment.content_type)


@login_required
@require_GET
def evidence_file(request, pk: int):
    evidence = get_object_or_404(TaskEvidence.objects.visible_to(request.user), pk=pk)
    return _file_response(evidence.file, evidence.name, evidence.content_type)


@login_required
@require_GET
def checklist_file(request, pk: int):
    entry = get_object_or_404(ChecklistEntry.objects.visible_to(request.user), pk=pk)
    if not entry.evidence:
        raise PermissionDenied
    return _file_response(entry.evidence, entry.evidence_name or "evidence", "")
