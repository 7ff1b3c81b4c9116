"""The youth roster (C2) for staff: list, detail, edit, contacts, 1+N duties, import and export.

Views stay thin: scope comes from ``visible_to``, rules from the forms, writes from people.actions.
"""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.audit.actions import record
from tuanju.core.views import paginate
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports.actions import create_job
from tuanju.imports.models import ImportJob
from tuanju.imports.reader import FileRejected
from tuanju.people import actions
from tuanju.people.filters import SORTS, filter_people
from tuanju.people.forms import BulkActionForm, ContactLogForm, DutyAssignForm, ImportForm, PersonForm
from tuanju.people.models import Category, LiaisonDuty, Person, PoliticalStatus, Tag

PII_FIELDS = ("resident_id", "phone")
SORT_COLUMNS = [
    ("name", gettext_lazy("Name")),
    ("birth", gettext_lazy("Birth date")),
    ("unit", gettext_lazy("Unit")),
    ("created", gettext_lazy("Created")),
]


def _visible_person(request, pk) -> Person:
    return get_object_or_404(
        Person.objects.visible_to(request.user).select_related("unit", "category"), pk=pk
    )


def _require_writer(request) -> None:
    if not request.user.can_write:
        raise PermissionDenied(_("Your role may not change the roster."))


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return fallback


# --- List, bulk actions, export --------------------------------------------------------------


def _sort_links(sort: str) -> list[dict]:
    """Column headers: a click sorts by the column, a second click reverses it (where supported)."""
    links = []
    for key, label in SORT_COLUMNS:
        active, descending = sort.lstrip("-") == key, sort == f"-{key}"
        toggle = f"-{key}" if active and not descending and f"-{key}" in SORTS else key
        links.append({"key": key, "label": label, "active": active, "descending": descending, "next": toggle})
    return links


@login_required
@require_GET
def person_list(request):
    people = filter_people(
        Person.objects.visible_to(request.user).select_related("unit", "category").prefetch_related("tags"),
        request.GET,
    )
    sort = request.GET.get("sort", "")
    context = {
        "page_obj": paginate(request, people),
        "params": {key: request.GET.get(key, "") for key in actions.FILTER_KEYS},
        "filtered": any(request.GET.get(key) for key in actions.FILTER_KEYS if key != "sort"),
        "categories": Category.objects.select_related("parent"),
        "statuses": PoliticalStatus.choices,
        "tags": Tag.objects.values_list("name", flat=True)[:200],
        "sorts": _sort_links(sort),
        "bulk_actions": BulkActionForm.ACTIONS,
        "can_write": request.user.can_write,
        "can_unmask": request.user.can_unmask,
    }
    return render(request, "people/list.html", context)


@login_required
@require_POST
def bulk(request):
    _require_writer(request)
    form = BulkActionForm(request.POST, user=request.user)
    back = _safe_next(request, reverse("people:list"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    count = actions.bulk_apply(
        data["people"], data["action"], actor=request.user, tag=data.get("tag", ""), unit=data.get("unit")
    )
    messages.success(request, _("%(count)d people updated.") % {"count": count})
    return redirect(back)


@login_required
@require_GET
def export(request):
    unmask = request.GET.get("unmask") == "1"
    if unmask and not request.user.can_unmask:
        raise PermissionDenied(_("Your role may not export unmasked personal data."))
    people = filter_people(Person.objects.visible_to(request.user), request.GET)
    handle = actions.export_to_tempfile(
        people, actor=request.user, unmask=unmask, filters=actions.describe_filters(request.GET)
    )
    return FileResponse(handle, as_attachment=True, filename="花名册.xlsx")


# --- One person ----------------------------------------------------------------------------------


def _detail_context(request, person: Person, **extra) -> dict:
    return {
        "person": person,
        "breadcrumb": person.unit.breadcrumb(),
        "duties": person.duties.select_related("cadre", "cadre__unit").order_by("since"),
        "tags": person.tags.all(),
        "can_write": request.user.can_write,
        "can_unmask": request.user.can_unmask,
        "revealed": {},
        **_visible_related(request, person),
        **_contacts_context(request, person),
        **extra,
    }


def _visible_related(request, person: Person) -> dict:
    visible = Person.objects.visible_to(request.user)
    return {
        "mentors": visible.filter(mentees=person).order_by("name_pinyin"),
        "mentees": visible.filter(mentors=person).order_by("name_pinyin"),
    }


def _contacts_context(request, person: Person, form: ContactLogForm | None = None) -> dict:
    can_log = actions.can_log_contacts(request.user)
    contacts = person.contacts.select_related("cadre")
    return {
        "person": person,
        "contacts": contacts[:50],
        "contact_count": contacts.count(),
        "can_log": can_log,
        "contact_form": (form or ContactLogForm()) if can_log else None,
    }


@login_required
@require_GET
def detail(request, pk):
    person = _visible_person(request, pk)
    return render(request, "people/detail.html", _detail_context(request, person))


@login_required
@require_POST
def reveal(request, pk):
    """Show one personal field in full (HTMX swaps it in); audit-logged by people.actions.reveal."""
    person = _visible_person(request, pk)
    if not request.user.can_unmask:
        raise PermissionDenied(_("Your role may not see personal data."))
    field = request.POST.get("field", "")
    if field not in PII_FIELDS:
        raise Http404
    value = actions.reveal(person, actor=request.user, field=field)
    if _is_htmx(request):
        return render(request, "people/_pii.html", {"field": field, "value": value, "plain": True})
    return render(request, "people/detail.html", _detail_context(request, person, revealed={field: value}))


@login_required
@require_POST
def add_contact(request, pk):
    person = _visible_person(request, pk)
    if not actions.can_log_contacts(request.user):
        raise PermissionDenied(_("Your role may not log contacts."))
    form = ContactLogForm(request.POST)
    if form.is_valid():
        try:
            actions.log_contact(person, cadre=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if _is_htmx(request):
                return render(request, "people/_contacts.html", _contacts_context(request, person))
            messages.success(request, _("Contact logged."))
            return redirect("people:detail", pk=person.pk)
    if _is_htmx(request):
        return render(request, "people/_contacts.html", _contacts_context(request, person, form))
    context = _detail_context(request, person)
    context.update(_contacts_context(request, person, form))
    return render(request, "people/detail.html", context)


def _person_form_view(request, person: Person | None):
    _require_writer(request)
    form = PersonForm(request.POST or None, user=request.user, instance=person)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.save_person(person or Person(), actor=request.user, **form.save_args())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("people:detail", pk=saved.pk)
    title = _("Edit %(name)s") % {"name": person.name} if person else _("Register a young person")
    return render(request, "people/form.html", {"form": form, "person": person, "title": title})


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    return _person_form_view(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    return _person_form_view(request, _visible_person(request, pk))


# --- 1+N liaison duties ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def duties(request):
    form = None
    if request.user.can_write:
        form = DutyAssignForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            count = actions.assign_duty(
                form.cleaned_data["cadre"], form.cleaned_data["people"], actor=request.user
            )
            messages.success(request, _("%(count)d people assigned.") % {"count": count})
            return redirect(request.get_full_path())
    elif request.method == "POST":
        _require_writer(request)
    scoped = LiaisonDuty.objects.visible_to(request.user)
    unit_code = request.GET.get("unit", "").strip()[:32]
    if unit_code:
        scoped = _duties_in_unit(scoped, unit_code)
    board = actions.duty_board(scoped)
    only_overdue = request.GET.get("overdue") == "1"
    rows = []
    for cadre, assigned in board.items():
        overdue = sum(1 for duty in assigned if duty.overdue)
        shown = [duty for duty in assigned if duty.overdue] if only_overdue else assigned
        if shown:
            rows.append({"cadre": cadre, "duties": shown, "total": len(assigned), "overdue": overdue})
    candidates = []
    if form is not None:
        term = request.GET.get("q", "")
        pool = Person.objects.visible_to(request.user).filter(is_backbone=True).select_related("unit")
        candidates = filter_people(pool, {"q": term, "unit": unit_code, "sort": "name"})[:50]
    context = {
        "rows": rows,
        "form": form,
        "candidates": candidates,
        "q": request.GET.get("q", ""),
        "unit_code": unit_code,
        "only_overdue": only_overdue,
        "overdue_days": settings.TUANJU["CONTACT_OVERDUE_DAYS"],
    }
    return render(request, "people/duties.html", context)


def _duties_in_unit(duties, unit_code: str):
    """Duties of the youth in one unit's subtree (the unit given by code; scope is already applied)."""
    unit = OrgUnit.objects.filter(code=unit_code).first()
    return duties.filter(person__unit__path__startswith=unit.path) if unit else duties.none()


# --- Import ---------------------------------------------------------------------------------------


def _visible_job(request, pk) -> ImportJob:
    return get_object_or_404(
        ImportJob.objects.visible_to(request.user).filter(kind="roster").select_related("unit", "created_by"),
        pk=pk,
    )


def _may_download_report(user, job: ImportJob) -> bool:
    """The error report repeats the uploaded cells in full: for the uploader or roles that see personal data."""
    return user.can_unmask or job.created_by_id == user.pk


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    _require_writer(request)
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = create_job(
                "roster",
                data["file"],
                data["unit"],
                actor=request.user,
                dry_run=data["dry_run"],
                update_existing=data["update_existing"],
            )
        except FileRejected as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("people:import-job", pk=job.pk)
    jobs = (
        ImportJob.objects.visible_to(request.user)
        .filter(kind="roster")
        .select_related("unit", "created_by")
        .order_by("-created_at")[:20]
    )
    return render(request, "people/import.html", {"form": form, "jobs": jobs})


def _job_context(request, job: ImportJob) -> dict:
    return {
        "job": job,
        "summary": job.summary or {},
        "can_download": job.finished and bool(job.report_path) and _may_download_report(request.user, job),
    }


@login_required
@require_GET
def import_job(request, pk):
    job = _visible_job(request, pk)
    return render(request, "people/import_job.html", _job_context(request, job))


@login_required
@require_GET
def import_progress(request, pk):
    job = _visible_job(request, pk)
    return render(request, "people/_job_progress.html", _job_context(request, job))


@login_required
@require_GET
def import_report(request, pk):
    job = _visible_job(request, pk)
    if not _may_download_report(request.user, job):
        raise PermissionDenied(_("Only the uploader may download this report."))
    path = Path(job.report_path) if job.report_path else None
    base = Path(settings.TUANJU["IMPORT_DIR"]).resolve()
    if not job.finished or path is None or not path.is_file() or base not in path.resolve().parents:
        raise Http404
    record(request.user, "export", job, unit=job.unit, details={"kind": "import_report", "job": job.pk})
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"导入错误报告-{job.pk}.xlsx")


@login_required
@require_GET
def import_template(request):
    buffer = io.BytesIO()
    actions.write_import_template(buffer)
    buffer.seek(0)
    return FileResponse(buffer, as_attachment=True, filename="花名册导入模板.xlsx")
