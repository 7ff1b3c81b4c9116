"""Appeals (接诉即办) for staff and partner departments: list, statistics, entry, detail and every
step of the life cycle, categories, departments and their accounts, the 12345 import.

Scope: ``Appeal.objects.visible_to(user)`` everywhere (a department account sees only what is
routed to it); writes go through appeals.actions.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.accounts.models import User
from tuanju.appeals import actions, exporting, qr
from tuanju.appeals.filters import FILTER_KEYS, choices_context, filter_appeals
from tuanju.appeals.forms import (
    CategoryForm,
    DepartmentAccountForm,
    DepartmentForm,
    HotlineImportForm,
    ReasonForm,
    RouteForm,
    StaffAppealForm,
    TextStepForm,
)
from tuanju.appeals.models import (
    PUBLIC_EVENTS,
    Appeal,
    AppealCategory,
    AppealPhoto,
    CalendarDay,
    Department,
    Status,
)
from tuanju.appeals.workdays import coverage_warning
from tuanju.audit.actions import record
from tuanju.core.views import paginate
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports.actions import create_job
from tuanju.imports.models import ImportJob
from tuanju.imports.reader import FileRejected


def _visible(request, pk) -> Appeal:
    return get_object_or_404(
        Appeal.objects.visible_to(request.user).select_related(
            "category", "unit", "intake_unit", "department", "station", "person", "created_by"
        ),
        pk=pk,
    )


def _require_writer(request) -> None:
    if not request.user.can_write:
        raise PermissionDenied(_("Your role may not change appeals."))


def _require_league_writer(request) -> None:
    if not request.user.can_write or request.user.department_id:
        raise PermissionDenied(_("Only league staff may do this."))


def _require_admin(request) -> None:
    if not request.user.can_manage_units or request.user.department_id:
        raise PermissionDenied(_("Only administrators may change this."))


def _form_errors(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- List, statistics, export ------------------------------------------------------------------


@login_required
@require_GET
def appeal_list(request):
    today = timezone.localdate()
    scoped = Appeal.objects.visible_to(request.user)
    appeals = filter_appeals(
        scoped.select_related("category", "unit", "department"), request.GET, today=today
    )
    params = {key: request.GET.get(key, "") for key in FILTER_KEYS}
    context = {
        "page_obj": paginate(request, appeals),
        "params": params,
        "filtered": any(v for k, v in params.items() if k != "sort"),
        "today": today,
        "stats": actions.appeal_stats(scoped, today),
        "can_write": request.user.can_write and not request.user.department_id,
        "is_department": bool(request.user.department_id),
        "calendar_warning": coverage_warning(today),
        **choices_context(request.user),
    }
    return render(request, "appeals/list.html", context)


@login_required
@require_GET
def appeal_export(request):
    unmask = request.GET.get("unmask") == "1"
    if unmask and not request.user.can_unmask:
        raise PermissionDenied(_("Your role may not export unmasked personal data."))
    appeals = filter_appeals(Appeal.objects.visible_to(request.user), request.GET)
    filters = {k: request.GET.get(k)[:40] for k in FILTER_KEYS if request.GET.get(k)}
    handle = exporting.to_tempfile(
        exporting.export_appeals, appeals, actor=request.user, unmask=unmask, filters=filters
    )
    return FileResponse(handle, as_attachment=True, filename=f"诉求工单-{timezone.localdate():%Y%m%d}.xlsx")


@login_required
@require_GET
def appeal_stats(request):
    """Statistics of the scope: status, categories, handlers, monthly trend, per child unit."""
    today = timezone.localdate()
    scoped = Appeal.objects.visible_to(request.user)
    unit = None
    if not request.user.department_id:
        code = request.GET.get("unit", "").strip()[:32]
        unit = (
            OrgUnit.objects.visible_to(request.user).filter(code=code).first() if code else request.user.unit
        )
        if unit is None and request.user.is_superuser:
            unit = OrgUnit.objects.filter(depth=1).first()
        if unit is not None:
            scoped = scoped.filter(unit__path__startswith=unit.path)
    from django.db.models.functions import TruncMonth

    monthly = (
        scoped.annotate(month=TruncMonth("received_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    rows = []
    if unit is not None:
        totals = actions.child_rollup(unit, scoped, "unit__path")
        overdue = actions.child_rollup(unit, scoped.overdue(today), "unit__path")
        children = OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1).order_by("path")
        rows = [
            {"unit": child, "total": totals.get(child.path, 0), "overdue": overdue.get(child.path, 0)}
            for child in children
        ]
    context = {
        "unit": unit,
        "breadcrumb": unit.breadcrumb() if unit else [],
        "stats": actions.appeal_stats(scoped, today),
        "categories": actions.by_category(scoped),
        "handlers": actions.by_handler(scoped, today),
        "monthly": [{"month": f"{r['month']:%Y-%m}", "n": r["n"]} for r in monthly if r["month"]],
        "children": rows,
    }
    return render(request, "appeals/stats.html", context)


# --- Entry ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def appeal_create(request):
    _require_league_writer(request)
    form = StaffAppealForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        new = actions.NewAppeal(
            unit=data["unit"],
            category=data["category"],
            content=data["content"],
            source=data["source"],
            title=data["title"],
            location=data["location"],
            contact_name=data["contact_name"],
            phone=data["phone"],
            is_anonymous=data["is_anonymous"],
            received_at=data["received_at"],
            hotline_number=data["hotline_number"],
        )
        try:
            appeal = actions.file_appeal(new, actor=request.user, photos=data["photos"])
        except ValidationError as exc:
            _form_errors(request, exc)
        else:
            messages.success(request, _("Appeal %(number)s registered.") % {"number": appeal.number})
            return redirect("appeals:detail", pk=appeal.pk)
    return render(request, "appeals/form.html", {"form": form})


@login_required
@require_GET
def intake_link(request):
    """The public intake link and QR code of a unit in scope (for posters, stations, group chats)."""
    _require_league_writer(request)
    code = request.GET.get("unit", "").strip()[:32]
    unit = OrgUnit.objects.visible_to(request.user).filter(code=code).first() if code else request.user.unit
    if unit is None:
        raise Http404
    url = qr.intake_url(request, unit)
    if request.GET.get("format") == "svg":
        response = HttpResponse(qr.svg_bytes(url), content_type="image/svg+xml")
        response["Content-Disposition"] = f'attachment; filename="appeal-qr-{unit.code}.svg"'
        return response
    return render(request, "appeals/intake_link.html", {"unit": unit, "url": url, "qr": qr.svg_data_uri(url)})


# --- Detail and life cycle -----------------------------------------------------------------------


def _detail_context(request, appeal: Appeal, **extra) -> dict:
    user = request.user
    today = timezone.localdate()
    departments = actions.routable_departments(user, appeal).distinct()
    may_route = actions.may_route(user, appeal) and appeal.status in (
        Status.RECEIVED,
        Status.ASSIGNED,
        Status.IN_PROGRESS,
    )
    may_handle = actions.may_handle(user, appeal)
    context = {
        "appeal": appeal,
        "breadcrumb": appeal.unit.breadcrumb() if not user.department_id else [],
        "events": appeal.events.select_related("actor"),
        "photos": appeal.photos.all(),
        "notifications": appeal.notifications.all()[:30],
        "identity": actions.may_see_identity(user, appeal),
        "can_reveal": user.can_unmask and actions.may_see_identity(user, appeal) and bool(appeal.phone_enc),
        "today": today,
        "overdue": appeal.is_overdue(today),
        "near_due": appeal.is_near_due(today),
        "may_route": may_route,
        "may_accept": may_handle and appeal.status == Status.ASSIGNED,
        "may_reply": may_handle and appeal.status in (Status.ASSIGNED, Status.IN_PROGRESS),
        "may_return": may_handle and appeal.status in (Status.ASSIGNED, Status.IN_PROGRESS),
        "may_note": (may_handle or actions.may_route(user, appeal)) and appeal.status != Status.CLOSED,
        "may_close": (actions.may_route(user, appeal) or may_handle)
        and appeal.status in (Status.RECEIVED, Status.REPLIED),
        "may_reopen": (actions.may_route(user, appeal)) and appeal.status == Status.REPLIED,
        "route_form": RouteForm(user=user, departments=departments, category=appeal.category)
        if may_route
        else None,
        "reply_form": TextStepForm(),
        "reason_form": ReasonForm(),
        "public_events": PUBLIC_EVENTS,
        "follow_url": qr.absolute(request, actions.follow_path(appeal))
        if actions.may_route(user, appeal)
        else "",
        "revealed": None,
    }
    context.update(extra)
    return context


@login_required
@require_GET
def appeal_detail(request, pk):
    appeal = _visible(request, pk)
    return render(request, "appeals/detail.html", _detail_context(request, appeal))


@login_required
@require_POST
def appeal_route(request, pk):
    appeal = _visible(request, pk)
    if not actions.may_route(request.user, appeal):
        raise PermissionDenied(_("Your account may not route appeals."))
    departments = actions.routable_departments(request.user, appeal).distinct()
    form = RouteForm(request.POST, user=request.user, departments=departments, category=appeal.category)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.route(
                appeal,
                actor=request.user,
                unit=data["unit"],
                department=data["department"],
                time_limit_days=data["time_limit_days"],
                note=data["note"],
            )
        except ValidationError as exc:
            _form_errors(request, exc)
        else:
            messages.success(
                request,
                _("Assigned to %(handler)s, due %(due)s.")
                % {"handler": appeal.handler_name, "due": f"{appeal.due_date:%Y-%m-%d}"},
            )
            if not Appeal.objects.visible_to(request.user).filter(pk=appeal.pk).exists():
                return redirect("appeals:list")
            return redirect("appeals:detail", pk=appeal.pk)
    return render(
        request, "appeals/detail.html", _detail_context(request, appeal, route_form=form), status=400
    )


def _step(request, pk, function, *, field=None, success=""):
    appeal = _visible(request, pk)
    kwargs = {}
    if field == "text":
        kwargs["text"] = request.POST.get("text", "")
    elif field == "reason":
        kwargs["reason"] = request.POST.get("reason", "")
    elif field == "note":
        kwargs["note"] = request.POST.get("note", "")
    try:
        function(appeal, actor=request.user, **kwargs)
    except ValidationError as exc:
        _form_errors(request, exc)
    else:
        messages.success(request, success)
    if not Appeal.objects.visible_to(request.user).filter(pk=appeal.pk).exists():
        return redirect("appeals:list")
    return redirect("appeals:detail", pk=appeal.pk)


@login_required
@require_POST
def appeal_accept(request, pk):
    return _step(request, pk, actions.accept, success=_("Accepted."))


@login_required
@require_POST
def appeal_reply(request, pk):
    return _step(request, pk, actions.reply, field="text", success=_("Reply sent."))


@login_required
@require_POST
def appeal_note(request, pk):
    return _step(request, pk, actions.add_note, field="note", success=_("Note added."))


@login_required
@require_POST
def appeal_return(request, pk):
    return _step(
        request, pk, actions.return_appeal, field="reason", success=_("Returned to the receiving unit.")
    )


@login_required
@require_POST
def appeal_close(request, pk):
    return _step(request, pk, actions.close, field="reason", success=_("Closed."))


@login_required
@require_POST
def appeal_reopen(request, pk):
    return _step(request, pk, actions.reopen, field="reason", success=_("Reopened."))


@login_required
@require_POST
def appeal_reveal(request, pk):
    appeal = _visible(request, pk)
    _name, phone = actions.reveal_contact(appeal, actor=request.user)
    if request.headers.get("HX-Request") == "true":
        return HttpResponse(format_html('<span class="code">{}</span>', phone))
    return render(request, "appeals/detail.html", _detail_context(request, appeal, revealed=phone))


@login_required
@require_GET
def appeal_photo(request, pk, photo_pk):
    """A photo of an appeal in scope (never served as a public media URL)."""
    appeal = _visible(request, pk)
    photo = get_object_or_404(AppealPhoto, pk=photo_pk, appeal=appeal)
    if not photo.image or not photo.image.storage.exists(photo.image.name):
        raise Http404
    response = FileResponse(
        photo.image.open("rb"), content_type=mimetypes.guess_type(photo.image.name)[0] or "image/jpeg"
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Categories (administrators) ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def category_list(request):
    categories = AppealCategory.objects.annotate(n=Count("appeals"))
    return render(
        request,
        "appeals/categories.html",
        {
            "categories": categories,
            "can_manage": request.user.can_manage_units and not request.user.department_id,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def category_edit(request, pk=None):
    _require_admin(request)
    category = get_object_or_404(AppealCategory, pk=pk) if pk else None
    form = CategoryForm(request.POST or None, instance=category)
    if request.method == "POST" and form.is_valid():
        before = {f: getattr(category, f) for f in form.fields} if category else {}
        saved = form.save()
        after = {f: getattr(saved, f) for f in form.fields}
        record(
            request.user,
            "update" if category else "create",
            saved,
            details={"changes": {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}},
        )
        messages.success(request, _("Saved."))
        return redirect("appeals:categories")
    return render(
        request,
        "appeals/simple_form.html",
        {"form": form, "title": _("Appeal category"), "back": reverse("appeals:categories")},
    )


# --- Partner departments and their accounts --------------------------------------------------------


@login_required
@require_GET
def department_list(request):
    if request.user.department_id:
        raise PermissionDenied
    today = timezone.localdate()
    from django.db.models import Q

    departments = (
        Department.objects.visible_to(request.user)
        .select_related("unit")
        .annotate(
            total=Count("appeals", distinct=True),
            open=Count(
                "appeals", filter=Q(appeals__status__in=[Status.ASSIGNED, Status.IN_PROGRESS]), distinct=True
            ),
            overdue=Count(
                "appeals",
                filter=Q(
                    appeals__status__in=[Status.ASSIGNED, Status.IN_PROGRESS], appeals__due_date__lt=today
                ),
                distinct=True,
            ),
            accounts=Count("staff", distinct=True),
        )
    )
    return render(
        request,
        "appeals/departments.html",
        {
            "departments": departments,
            "can_write": request.user.can_write,
            "can_manage": request.user.can_manage_units,
        },
    )


def _visible_department(request, pk) -> Department:
    if request.user.department_id:
        raise Http404
    return get_object_or_404(Department.objects.visible_to(request.user).select_related("unit"), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def department_edit(request, pk=None):
    _require_league_writer(request)
    department = _visible_department(request, pk) if pk else None
    initial = None
    if department is not None:
        initial = {
            "unit": department.unit.code,
            **{
                f: getattr(department, f)
                for f in ("name", "kind", "contact_name", "phone", "email", "is_active")
            },
        }
    form = DepartmentForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        target = department or Department()
        before = {f: str(getattr(target, f, "")) for f in form.cleaned_data} if department else {}
        for key, value in form.cleaned_data.items():
            setattr(target, key, value)
        try:
            target.full_clean()
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            target.save()
            after = {f: str(getattr(target, f)) for f in form.cleaned_data}
            record(
                request.user,
                "update" if department else "create",
                target,
                details={"changes": {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}},
            )
            messages.success(request, _("Saved."))
            return redirect("appeals:department-detail", pk=target.pk)
    title = department.name if department else _("New partner department")
    return render(
        request,
        "appeals/simple_form.html",
        {"form": form, "title": title, "back": reverse("appeals:departments")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def department_detail(request, pk):
    department = _visible_department(request, pk)
    form = None
    if request.user.can_manage_units:
        form = DepartmentAccountForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            user = User(
                username=data["username"],
                first_name=data["full_name"][:150],
                email=data["email"],
                role=data["role"],
                department=department,
                unit=None,
            )
            user.set_password(data["password"])
            user.save()
            record(
                request.user,
                "create",
                user,
                unit=department.unit,
                details={"role": data["role"], "department": department.pk},
            )
            messages.success(request, _("Account %(username)s created.") % {"username": user.username})
            return redirect("appeals:department-detail", pk=department.pk)
    elif request.method == "POST":
        raise PermissionDenied
    today = timezone.localdate()
    appeals = Appeal.objects.filter(department=department)
    context = {
        "department": department,
        "accounts": department.staff.order_by("username"),
        "form": form,
        "stats": actions.appeal_stats(appeals, today),
        "recent": appeals.select_related("category").order_by("-assigned_at")[:20],
        "today": today,
    }
    return render(request, "appeals/department_detail.html", context)


@login_required
@require_POST
def department_account_toggle(request, pk, user_pk):
    department = _visible_department(request, pk)
    _require_admin(request)
    account = get_object_or_404(User, pk=user_pk, department=department)
    account.is_active = not account.is_active
    account.save(update_fields=["is_active"])
    record(request.user, "update", account, unit=department.unit, details={"is_active": account.is_active})
    return redirect("appeals:department-detail", pk=department.pk)


# --- Working-day calendar overrides ----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def calendar_overrides(request):
    from tuanju.appeals.workdays import package_years

    if request.method == "POST":
        _require_admin(request)
        if request.POST.get("delete"):
            day = CalendarDay.objects.filter(pk=request.POST["delete"]).first()
            if day is not None:
                record(request.user, "delete", day, details={"day": day.day.isoformat()})
                day.delete()
        else:
            from datetime import date

            try:
                day = date.fromisoformat(request.POST.get("day", ""))
            except ValueError:
                messages.error(request, "日期格式不正确")
            else:
                entry, _created = CalendarDay.objects.update_or_create(
                    day=day,
                    defaults={
                        "is_workday": request.POST.get("is_workday") == "1",
                        "note": request.POST.get("note", "")[:60],
                    },
                )
                record(
                    request.user,
                    "update",
                    entry,
                    details={"day": day.isoformat(), "workday": entry.is_workday},
                )
        return redirect("appeals:calendar")
    first, last = package_years()
    return render(
        request,
        "appeals/calendar.html",
        {
            "days": CalendarDay.objects.all()[:500],
            "first": first,
            "last": last,
            "warning": coverage_warning(timezone.localdate()),
            "can_manage": request.user.can_manage_units and not request.user.department_id,
        },
    )


# --- 12345 import ---------------------------------------------------------------------------------


def _visible_job(request, pk) -> ImportJob:
    return get_object_or_404(
        ImportJob.objects.visible_to(request.user)
        .filter(kind="hotline")
        .select_related("unit", "created_by"),
        pk=pk,
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    _require_league_writer(request)
    form = HotlineImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = create_job(
                "hotline", data["file"], data["unit"], actor=request.user, dry_run=data["dry_run"]
            )
        except FileRejected as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("appeals:import-job", pk=job.pk)
    jobs = (
        ImportJob.objects.visible_to(request.user)
        .filter(kind="hotline")
        .select_related("unit", "created_by")
        .order_by("-created_at")[:20]
    )
    return render(request, "appeals/import.html", {"form": form, "jobs": jobs})


def _job_context(request, job) -> dict:
    return {
        "job": job,
        "summary": job.summary or {},
        "can_download": job.finished
        and bool(job.report_path)
        and (request.user.can_unmask or job.created_by_id == request.user.pk),
    }


@login_required
@require_GET
def import_job(request, pk):
    job = _visible_job(request, pk)
    return render(request, "appeals/import_job.html", _job_context(request, job))


@login_required
@require_GET
def import_progress(request, pk):
    job = _visible_job(request, pk)
    return render(request, "appeals/_job_progress.html", _job_context(request, job))


@login_required
@require_GET
def import_report(request, pk):
    job = _visible_job(request, pk)
    if not (request.user.can_unmask or job.created_by_id == request.user.pk):
        raise PermissionDenied(_("Only the uploader may download this report."))
    path = Path(job.report_path) if job.report_path else None
    base = Path(settings.TUANJU["IMPORT_DIR"]).resolve()
    if not job.finished or path is None or not path.is_file() or base not in path.resolve().parents:
        raise Http404
    record(request.user, "export", job, unit=job.unit, details={"kind": "import_report", "job": job.pk})
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"12345导入报告-{job.pk}.xlsx")
