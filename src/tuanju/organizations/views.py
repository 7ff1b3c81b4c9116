"""Staff UI of organizations (C3) and alliances (C4).

Views stay thin: scope comes from ``visible_to`` (a record outside it is a 404), rules from
the forms and ``organizations.actions``, which also writes the audit trail.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, Q, Sum, Value, When
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.audit.actions import record
from tuanju.audit.models import AuditEvent
from tuanju.core.views import paginate
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports.actions import create_job
from tuanju.imports.models import ImportJob
from tuanju.imports.reader import FileRejected
from tuanju.organizations import actions, hooks
from tuanju.organizations.exporting import export_organizations
from tuanju.organizations.filters import FILTER_KEYS, SORTS, describe, filter_organizations
from tuanju.organizations.forms import (
    AbsorptionForm,
    AllianceForm,
    AllianceMemberAddForm,
    AllianceMemberEditForm,
    DutyForm,
    GroupMemberAddForm,
    ImportForm,
    LeaveForm,
    MeetingForm,
    MemberAddForm,
    MemberEditForm,
    OrganizationForm,
    ProjectForm,
    ScheduleForm,
    logo_content_type,
    parse_month,
)
from tuanju.organizations.importing import COLUMNS
from tuanju.organizations.models import (
    ABSORPTION_LABELS,
    ALLIANCE_FIELDS,
    COUNCIL_MAX,
    COUNCIL_MIN,
    ROLE_ORDER,
    AbsorptionKind,
    Alliance,
    AllianceMember,
    DutyAssignment,
    FourHave,
    GroupMembership,
    JoinMethod,
    JointMeeting,
    MeetingStatus,
    Membership,
    Organization,
    OrgTag,
    OrgType,
    PoliticalAbsorption,
    RegistrationStatus,
    ServiceProject,
    activity_months,
    min_members,
)
from tuanju.people.models import Person

IMPORT_KIND = "organizations"
MEMBERS_PER_PAGE = 50
SORT_COLUMNS = [
    ("name", gettext_lazy("Name")),
    ("unit", gettext_lazy("Unit")),
    ("members", gettext_lazy("Members")),
    ("founded", gettext_lazy("Founded")),
    ("created", gettext_lazy("Created")),
]


def _require_writer(request) -> None:
    if not request.user.can_write:
        raise PermissionDenied(_("Your role may not change organizations."))


def _visible_org(request, pk) -> Organization:
    return get_object_or_404(
        Organization.objects.visible_to(request.user).select_related("unit", "org_type", "leader"), pk=pk
    )


def _visible_alliance(request, pk) -> Alliance:
    return get_object_or_404(
        Alliance.objects.visible_to(request.user).select_related("unit", "leader", "secretary_general"), pk=pk
    )


def _errors_to_messages(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _sort_links(sort: str) -> list[dict]:
    links = []
    for key, label in SORT_COLUMNS:
        active, descending = sort.lstrip("-") == key, sort == f"-{key}"
        toggle = f"-{key}" if active and not descending and f"-{key}" in SORTS else key
        links.append({"key": key, "label": label, "active": active, "descending": descending, "next": toggle})
    return {link["key"]: link for link in links}


# --- List, export ------------------------------------------------------------------------------


@login_required
@require_GET
def org_list(request):
    visible = Organization.objects.visible_to(request.user)
    orgs = filter_organizations(
        visible.select_related("unit", "org_type", "leader").prefetch_related("tags"), request.GET
    )
    params = {key: request.GET.get(key, "") for key in FILTER_KEYS}
    context = {
        "page_obj": paginate(request, orgs),
        "params": params,
        "filtered": any(request.GET.get(key) for key in FILTER_KEYS if key != "sort"),
        "types": OrgType.objects.all(),
        "registrations": RegistrationStatus.choices,
        "criteria": [(key, FourHave.LABELS[key]) for key in FourHave.ALL],
        "tags": OrgTag.objects.values_list("name", flat=True)[:200],
        "sorts": _sort_links(params["sort"]),
        "summary": actions.four_have_summary(visible),
        "can_write": request.user.can_write,
        "can_unmask": request.user.can_unmask,
    }
    return render(request, "organizations/list.html", context)


@login_required
@require_GET
def export(request):
    unmask = request.GET.get("unmask") == "1"
    if unmask and not request.user.can_unmask:
        raise PermissionDenied(_("Your role may not export unmasked personal data."))
    orgs = filter_organizations(Organization.objects.visible_to(request.user), request.GET)
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    try:
        export_organizations(orgs, handle, actor=request.user, unmask=unmask, filters=describe(request.GET))
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename="青年社会组织.xlsx")


# --- By unit: roll-ups and the 四有 list ---------------------------------------------------------


def _home_unit(request) -> OrgUnit:
    code = request.GET.get("unit", "").strip()[:32]
    visible = OrgUnit.objects.visible_to(request.user)
    if code:
        return get_object_or_404(visible, code=code)
    if request.user.unit_id:
        return request.user.unit
    root = visible.order_by("path").first()
    if root is None:
        raise Http404
    return root


@login_required
@require_GET
def by_unit(request):
    unit = _home_unit(request)
    visible = Organization.objects.visible_to(request.user)
    total, rows = actions.by_unit(unit, visible)
    failing = (
        visible.filter(unit__path__startswith=unit.path, is_active=True)
        .with_four_have()
        .filter(four_have=False)
        .select_related("unit", "org_type", "leader")
        .order_by("unit__path", "name_pinyin", "pk")
    )
    context = {
        "unit": unit,
        "breadcrumb": unit.breadcrumb(),
        "total": total,
        "rows": rows,
        "kinds": [(kind, ABSORPTION_LABELS[kind]) for kind in AbsorptionKind.values],
        "page_obj": paginate(request, failing),
        "summary": actions.four_have_summary(visible.filter(unit__path__startswith=unit.path)),
        "activity_months": activity_months(),
    }
    return render(request, "organizations/by_unit.html", context)


# --- One organization ----------------------------------------------------------------------------


def _history(request, obj, *, related_key: str, limit: int = 25):
    """Audit events of ``obj`` and of records that name it in their details, newest first."""
    events = AuditEvent.objects.visible_to(request.user).filter(
        Q(object_type=obj._meta.label_lower, object_id=str(obj.pk)) | Q(**{f"details__{related_key}": obj.pk})
    )
    return events.order_by("-at", "-id")[:limit]


def _org_context(request, org: Organization, **extra) -> dict:
    show_former = request.GET.get("former") == "1"
    member_query = request.GET.get("mq", "").strip()[:40]
    rank = Case(*[When(role=role, then=Value(i)) for i, role in enumerate(ROLE_ORDER)], default=Value(99))
    members = (
        org.memberships.select_related("person", "person__unit")
        .annotate(rank=rank)
        .order_by(F("left_on").desc(nulls_first=True), "rank", "joined_on", "pk")
    )
    if not show_former:
        members = members.filter(left_on__isnull=True)
    if member_query:
        members = members.filter(person__in=Person.objects.search(member_query).values("pk"))
    members = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("mpage"))
    visible_people = set(
        Person.objects.visible_to(request.user)
        .filter(pk__in=[m.person_id for m in members])
        .values_list("pk", flat=True)
    )
    leader_visible = (
        bool(org.leader_id) and Person.objects.visible_to(request.user).filter(pk=org.leader_id).exists()
    )
    status = org.four_have_status()
    groups = org.group_memberships.filter(left_on__isnull=True).select_related("member", "member__unit")
    parents = org.memberships_as_group.filter(left_on__isnull=True).select_related("organization")
    projects = org.projects.all()
    can_write = request.user.can_write
    context = {
        "org": org,
        "breadcrumb": org.unit.breadcrumb(),
        "members": members,
        "member_count": org.memberships.filter(left_on__isnull=True).count(),
        "former_count": org.memberships.filter(left_on__isnull=False).count(),
        "show_former": show_former,
        "member_query": member_query,
        "visible_people": visible_people,
        "leader_visible": leader_visible,
        "status": status,
        "criteria": [(key, FourHave.LABELS[key], status[key]) for key in FourHave.ALL],
        "min_members": min_members(),
        "activity_months": activity_months(),
        "groups": groups,
        "parents": Organization.objects.visible_to(request.user).filter(
            pk__in=[p.organization_id for p in parents]
        ),
        "projects": projects,
        "project_total": projects.aggregate(total=Sum("amount"))["total"],
        "absorptions": org.absorptions.select_related("person"),
        "alliances": org.alliance_memberships.select_related("alliance").filter(
            alliance__in=Alliance.objects.visible_to(request.user)
        ),
        "tags": org.tags.all(),
        "history": _history(request, org, related_key="organization"),
        "can_write": can_write,
        "can_unmask": request.user.can_unmask,
        "member_form": MemberAddForm(user=request.user) if can_write else None,
        "group_form": GroupMemberAddForm(user=request.user) if can_write else None,
        "revealed": "",
    }
    context.update(extra)
    return context


@login_required
@require_GET
def detail(request, pk):
    org = _visible_org(request, pk)
    return render(request, "organizations/detail.html", _org_context(request, org))


@login_required
@require_GET
def logo(request, pk):
    org = _visible_org(request, pk)
    if not org.logo:
        raise Http404
    try:
        handle = org.logo.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    content_type = logo_content_type(handle.read(16)) or "application/octet-stream"
    handle.seek(0)
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def reveal(request, pk):
    org = _visible_org(request, pk)
    if not request.user.can_unmask:
        raise PermissionDenied(_("Your role may not see personal data."))
    value = actions.reveal_contact_phone(org, actor=request.user)
    if _is_htmx(request):
        return render(request, "organizations/_phone.html", {"org": org, "value": value, "plain": True})
    return render(request, "organizations/detail.html", _org_context(request, org, revealed=value))


def _org_form_view(request, org: Organization | None):
    _require_writer(request)
    form = OrganizationForm(request.POST or None, request.FILES or None, user=request.user, instance=org)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.save_organization(org or Organization(), actor=request.user, **form.save_args())
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("organizations:detail", pk=saved.pk)
    title = _("Edit %(name)s") % {"name": org.name} if org else _("Register an organization")
    return render(request, "organizations/form.html", {"form": form, "org": org, "title": title})


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    return _org_form_view(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    return _org_form_view(request, _visible_org(request, pk))


# --- Members -------------------------------------------------------------------------------------


@login_required
@require_POST
def member_add(request, pk):
    org = _visible_org(request, pk)
    _require_writer(request)
    form = MemberAddForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            actions.add_member(
                org,
                form.cleaned_data["person"],
                role=form.cleaned_data["role"],
                joined_on=form.cleaned_data["joined_on"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, _("Member added."))
            return redirect(reverse("organizations:detail", args=[org.pk]) + "#members")
    return render(
        request, "organizations/detail.html", _org_context(request, org, member_form=form), status=400
    )


def _visible_membership(request, pk, mid) -> Membership:
    org = _visible_org(request, pk)
    return get_object_or_404(org.memberships.select_related("person", "organization__unit"), pk=mid)


@login_required
@require_http_methods(["GET", "POST"])
def member_edit(request, pk, mid):
    membership = _visible_membership(request, pk, mid)
    _require_writer(request)
    initial = {"role": membership.role, "joined_on": membership.joined_on}
    form = MemberEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_member(membership, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(reverse("organizations:detail", args=[pk]) + "#members")
    context = {
        "form": form,
        "org": membership.organization,
        "title": _("Member %(name)s") % {"name": membership.person.name},
        "back": reverse("organizations:detail", args=[pk]),
    }
    return render(request, "organizations/simple_form.html", context)


@login_required
@require_POST
def member_leave(request, pk, mid):
    membership = _visible_membership(request, pk, mid)
    _require_writer(request)
    form = LeaveForm(request.POST)
    if form.is_valid():
        try:
            actions.end_membership(membership, left_on=form.cleaned_data["left_on"], actor=request.user)
        except ValidationError as exc:
            _errors_to_messages(request, exc)
        else:
            messages.success(request, _("%(name)s has left.") % {"name": membership.person.name})
    else:
        messages.error(request, _("Give the date the member left."))
    return redirect(reverse("organizations:detail", args=[pk]) + "#members")


@login_required
@require_POST
def member_make_leader(request, pk, mid):
    membership = _visible_membership(request, pk, mid)
    _require_writer(request)
    org = membership.organization
    if membership.left_on is not None:
        messages.error(request, "已退会的人员不能担任负责人")
    else:
        try:
            actions.save_organization(org, data={"leader": membership.person}, actor=request.user)
        except ValidationError as exc:
            _errors_to_messages(request, exc)
        else:
            messages.success(request, _("%(name)s is now the leader.") % {"name": membership.person.name})
    return redirect("organizations:detail", pk=pk)


@login_required
@require_POST
def group_add(request, pk):
    org = _visible_org(request, pk)
    _require_writer(request)
    form = GroupMemberAddForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            actions.add_group_member(
                org, form.cleaned_data["member"], joined_on=form.cleaned_data["joined_on"], actor=request.user
            )
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, _("Group member added."))
            return redirect(reverse("organizations:detail", args=[org.pk]) + "#groups")
    return render(
        request, "organizations/detail.html", _org_context(request, org, group_form=form), status=400
    )


@login_required
@require_POST
def group_leave(request, pk, gid):
    org = _visible_org(request, pk)
    _require_writer(request)
    link = get_object_or_404(
        GroupMembership.objects.select_related("organization__unit"), organization=org, pk=gid
    )
    try:
        actions.end_group_membership(link, actor=request.user)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, _("Group member removed."))
    return redirect(reverse("organizations:detail", args=[org.pk]) + "#groups")


# --- Projects and political absorption ----------------------------------------------------------------


def _project_form_view(request, org: Organization, project: ServiceProject | None):
    _require_writer(request)
    initial = ProjectForm.initial_from(project) if project else None
    form = ProjectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_project(
                project or ServiceProject(organization=org), data=dict(form.cleaned_data), actor=request.user
            )
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(reverse("organizations:detail", args=[org.pk]) + "#projects")
    title = project.title if project else _("New purchased service project")
    context = {
        "form": form,
        "org": org,
        "title": title,
        "back": reverse("organizations:detail", args=[org.pk]),
    }
    return render(request, "organizations/simple_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request, pk):
    return _project_form_view(request, _visible_org(request, pk), None)


@login_required
@require_http_methods(["GET", "POST"])
def project_edit(request, pk, project_id):
    org = _visible_org(request, pk)
    return _project_form_view(request, org, get_object_or_404(org.projects, pk=project_id))


@login_required
@require_POST
def project_delete(request, pk, project_id):
    org = _visible_org(request, pk)
    _require_writer(request)
    project = get_object_or_404(org.projects.select_related("organization__unit"), pk=project_id)
    actions.delete_project(project, actor=request.user)
    messages.success(request, _("Project deleted."))
    return redirect(reverse("organizations:detail", args=[org.pk]) + "#projects")


@login_required
@require_http_methods(["GET", "POST"])
def absorption_create(request, pk):
    org = _visible_org(request, pk)
    _require_writer(request)
    form = AbsorptionForm(request.POST or None, user=request.user, organization=org)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data, organization=org)
        try:
            actions.save_absorption(PoliticalAbsorption(), data=data, actor=request.user)
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(reverse("organizations:detail", args=[org.pk]) + "#absorption")
    context = {
        "form": form,
        "org": org,
        "title": _("New political absorption record"),
        "back": reverse("organizations:detail", args=[org.pk]),
    }
    return render(request, "organizations/simple_form.html", context)


@login_required
@require_POST
def absorption_delete(request, pk, entry_id):
    org = _visible_org(request, pk)
    _require_writer(request)
    entry = get_object_or_404(org.absorptions.select_related("organization__unit"), pk=entry_id)
    actions.delete_absorption(entry, actor=request.user)
    messages.success(request, _("Record deleted."))
    return redirect(reverse("organizations:detail", args=[org.pk]) + "#absorption")


# --- Import ------------------------------------------------------------------------------------------


def _visible_job(request, pk) -> ImportJob:
    return get_object_or_404(
        ImportJob.objects.visible_to(request.user)
        .filter(kind=IMPORT_KIND)
        .select_related("unit", "created_by"),
        pk=pk,
    )


def _may_download_report(user, job: ImportJob) -> bool:
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
                IMPORT_KIND,
                data["file"],
                data["unit"],
                actor=request.user,
                dry_run=data["dry_run"],
                update_existing=data["update_existing"],
            )
        except FileRejected as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("organizations:import-job", pk=job.pk)
    jobs = (
        ImportJob.objects.visible_to(request.user)
        .filter(kind=IMPORT_KIND)
        .select_related("unit", "created_by")
        .order_by("-created_at")[:20]
    )
    return render(request, "organizations/import.html", {"form": form, "jobs": jobs, "columns": COLUMNS})


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
    return render(request, "organizations/import_job.html", _job_context(request, job))


@login_required
@require_GET
def import_progress(request, pk):
    job = _visible_job(request, pk)
    return render(request, "organizations/_job_progress.html", _job_context(request, job))


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
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"组织导入错误报告-{job.pk}.xlsx")


@login_required
@require_GET
def import_template(request):
    from tuanju.organizations.importing import write_template

    buffer = io.BytesIO()
    write_template(buffer)
    buffer.seek(0)
    return FileResponse(buffer, as_attachment=True, filename="青年社会组织导入模板.xlsx")


# --- Alliances ---------------------------------------------------------------------------------------


@login_required
@require_GET
def alliance_list(request):
    alliances = Alliance.objects.visible_to(request.user).select_related("unit", "leader")
    q = request.GET.get("q", "").strip()[:50]
    field = request.GET.get("field", "").strip()[:20]
    if q:
        alliances = alliances.search(q)
    if field:
        alliances = alliances.filter(field=field)
    if request.GET.get("state", "active") == "active":
        alliances = alliances.filter(is_active=True)
    page = paginate(request, alliances.order_by("unit__path", "name"))
    counts = actions.alliance_counts(Alliance.objects.filter(pk__in=[a.pk for a in page]))
    rows = []
    for alliance in page:
        health = actions.alliance_health(alliance)
        rows.append({"alliance": alliance, "counts": counts.get(alliance.pk, {}), "health": health})
    context = {
        "page_obj": page,
        "rows": rows,
        "q": q,
        "field": field,
        "state": request.GET.get("state", "active"),
        "fields": Alliance.objects.visible_to(request.user)
        .values_list("field", flat=True)
        .distinct()
        .order_by("field"),
        "can_write": request.user.can_write,
        "council_min": COUNCIL_MIN,
        "council_max": COUNCIL_MAX,
    }
    return render(request, "organizations/alliance_list.html", context)


def _alliance_context(request, alliance: Alliance, **extra) -> dict:
    members = list(
        alliance.members.select_related(
            "organization", "organization__unit", "organization__org_type"
        ).order_by("-is_council", "council_order", "organization__name_pinyin")
    )
    statuses = {
        org.pk: org
        for org in Organization.objects.filter(pk__in=[m.organization_id for m in members]).with_four_have()
    }
    for member in members:
        member.org_status = statuses.get(member.organization_id)
    methods = {
        row["join_method"]: row["n"] for row in alliance.members.values("join_method").annotate(n=Count("pk"))
    }
    health = actions.alliance_health(alliance)
    can_write = request.user.can_write
    context = {
        "alliance": alliance,
        "breadcrumb": alliance.unit.breadcrumb(),
        "members": members,
        "council": [m for m in members if m.is_council],
        "join_methods": [(value, label, methods.get(value, 0)) for value, label in JoinMethod.choices],
        "health": health,
        "council_min": COUNCIL_MIN,
        "council_max": COUNCIL_MAX,
        "duty_rows": actions.duty_board(alliance),
        "activities_counted": hooks.activity_source() is not None,
        "quarters": actions.meeting_quarters(alliance)[:8],
        "panels": hooks.alliance_panels(request, alliance),
        "history": _history(request, alliance, related_key="alliance", limit=12),
        "can_write": can_write,
        "member_form": AllianceMemberAddForm(user=request.user, alliance=alliance) if can_write else None,
    }
    context.update(extra)
    return context


@login_required
@require_GET
def alliance_detail(request, pk):
    alliance = _visible_alliance(request, pk)
    return render(request, "organizations/alliance_detail.html", _alliance_context(request, alliance))


def _alliance_form_view(request, alliance: Alliance | None):
    _require_writer(request)
    form = AllianceForm(request.POST or None, user=request.user, instance=alliance)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.save_alliance(alliance or Alliance(), actor=request.user, **form.save_args())
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("organizations:alliance-detail", pk=saved.pk)
    title = _("Edit %(name)s") % {"name": alliance.name} if alliance else _("New alliance")
    context = {"form": form, "alliance": alliance, "title": title, "suggested_fields": ALLIANCE_FIELDS}
    return render(request, "organizations/alliance_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def alliance_create(request):
    return _alliance_form_view(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def alliance_edit(request, pk):
    return _alliance_form_view(request, _visible_alliance(request, pk))


@login_required
@require_POST
def alliance_member_add(request, pk):
    alliance = _visible_alliance(request, pk)
    _require_writer(request)
    form = AllianceMemberAddForm(request.POST, user=request.user, alliance=alliance)
    if form.is_valid():
        try:
            data = form.cleaned_data
            actions.add_alliance_member(
                alliance,
                data["organization"],
                join_method=data["join_method"],
                joined_on=data["joined_on"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, _("Society added."))
            return redirect(reverse("organizations:alliance-detail", args=[pk]) + "#members")
    return render(
        request,
        "organizations/alliance_detail.html",
        _alliance_context(request, alliance, member_form=form),
        status=400,
    )


def _visible_alliance_member(request, pk, mid) -> AllianceMember:
    alliance = _visible_alliance(request, pk)
    return get_object_or_404(alliance.members.select_related("organization", "alliance__unit"), pk=mid)


@login_required
@require_http_methods(["GET", "POST"])
def alliance_member_edit(request, pk, mid):
    member = _visible_alliance_member(request, pk, mid)
    _require_writer(request)
    initial = {"join_method": member.join_method, "joined_on": member.joined_on}
    form = AllianceMemberEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_alliance_member(member, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(reverse("organizations:alliance-detail", args=[pk]) + "#members")
    context = {
        "form": form,
        "title": member.organization.name,
        "back": reverse("organizations:alliance-detail", args=[pk]),
    }
    return render(request, "organizations/simple_form.html", context)


@login_required
@require_POST
def alliance_member_remove(request, pk, mid):
    member = _visible_alliance_member(request, pk, mid)
    _require_writer(request)
    try:
        actions.remove_alliance_member(member, actor=request.user)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, _("%(name)s left the alliance.") % {"name": member.organization.name})
    return redirect(reverse("organizations:alliance-detail", args=[pk]) + "#members")


@login_required
@require_http_methods(["GET", "POST"])
def alliance_council(request, pk):
    """Choose the council (6–21 member societies) and its duty-rotation order."""
    alliance = _visible_alliance(request, pk)
    _require_writer(request)
    members = list(
        alliance.members.select_related("organization").order_by("-is_council", "council_order", "id")
    )
    error = None
    if request.method == "POST":
        chosen = {int(v) for v in request.POST.getlist("council") if v.isdigit()}

        def order(member):
            raw = request.POST.get(f"order_{member.organization_id}", "")
            return (int(raw) if raw.isdigit() else 999, member.council_order or 999, member.pk)

        picked = sorted((m for m in members if m.organization_id in chosen), key=order)
        try:
            actions.set_council(alliance, [m.organization for m in picked], actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
            for member in members:  # show the choice as posted
                member.is_council = member.organization_id in chosen
                raw = request.POST.get(f"order_{member.organization_id}", "")
                member.council_order = int(raw) if raw.isdigit() else 0
        else:
            messages.success(request, _("The council is saved."))
            return redirect(reverse("organizations:alliance-detail", args=[pk]) + "#council")
    context = {
        "alliance": alliance,
        "members": members,
        "error": error,
        "council_min": COUNCIL_MIN,
        "council_max": COUNCIL_MAX,
        "posted": request.POST if request.method == "POST" else None,
    }
    return render(request, "organizations/alliance_council.html", context, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def alliance_schedule(request, pk):
    """The duty schedule a year around today; generating a year ahead in turn among the council."""
    alliance = _visible_alliance(request, pk)
    form = ScheduleForm(request.POST or None) if request.user.can_write else None
    if request.method == "POST":
        _require_writer(request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                written = actions.generate_duty_schedule(
                    alliance,
                    start=data["start"],
                    months=data["months"],
                    replace=data["replace"],
                    actor=request.user,
                )
            except ValidationError as exc:
                form.apply_errors(exc)
            else:
                messages.success(request, _("%(count)d months assigned.") % {"count": written})
                return redirect("organizations:alliance-schedule", pk=pk)
    start = parse_month(request.GET.get("from", ""))
    context = {
        "alliance": alliance,
        "form": form,
        "rows": actions.duty_board(alliance, start=start, months=15),
        "council": alliance.council(),
        "activities_counted": hooks.activity_source() is not None,
        "can_write": request.user.can_write,
    }
    return render(
        request, "organizations/alliance_schedule.html", context, status=400 if form and form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def alliance_duty(request, pk, month):
    """Edit (or clear) the duty society of one month."""
    alliance = _visible_alliance(request, pk)
    _require_writer(request)
    day = parse_month(month)
    if day is None:
        raise Http404
    duty = DutyAssignment.objects.filter(alliance=alliance, month=day).select_related("organization").first()
    initial = {"organization": duty.organization_id, "theme": duty.theme} if duty else None
    form = DutyForm(request.POST or None, alliance=alliance, initial=initial)
    if request.method == "POST":
        if request.POST.get("clear") and duty is not None:
            actions.clear_duty(duty, actor=request.user)
            messages.success(request, _("The month is cleared."))
            return redirect("organizations:alliance-schedule", pk=pk)
        if form.is_valid():
            try:
                actions.assign_duty(
                    alliance,
                    day,
                    form.cleaned_data["organization"],
                    theme=form.cleaned_data["theme"],
                    actor=request.user,
                )
            except ValidationError as exc:
                form.apply_errors(exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("organizations:alliance-schedule", pk=pk)
    context = {
        "form": form,
        "title": _("Duty of %(month)s") % {"month": day.strftime("%Y-%m")},
        "back": reverse("organizations:alliance-schedule", args=[pk]),
        "clearable": duty is not None,
    }
    return render(request, "organizations/simple_form.html", context)


def _meeting_form_view(request, alliance: Alliance, meeting: JointMeeting | None):
    _require_writer(request)
    if meeting is not None:
        initial = {
            "held_on": meeting.held_on,
            "status": meeting.status,
            "title": meeting.title,
            "location": meeting.location,
            "attendees": list(meeting.attendees.values_list("pk", flat=True)),
            "minutes": meeting.minutes,
            "decisions": meeting.decisions,
        }
    else:
        planned = request.GET.get("status") == "planned"
        initial = {
            "held_on": timezone.localdate(),
            "status": MeetingStatus.PLANNED if planned else MeetingStatus.HELD,
        }
    form = MeetingForm(request.POST or None, alliance=alliance, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        attendees = list(data.pop("attendees"))
        try:
            actions.save_meeting(
                meeting or JointMeeting(alliance=alliance), data=data, attendees=attendees, actor=request.user
            )
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(reverse("organizations:alliance-detail", args=[alliance.pk]) + "#meetings")
    title = str(meeting) if meeting else _("Joint meeting")
    context = {"form": form, "alliance": alliance, "meeting": meeting, "title": title}
    return render(request, "organizations/meeting_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request, pk):
    return _meeting_form_view(request, _visible_alliance(request, pk), None)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_edit(request, pk, meeting_id):
    alliance = _visible_alliance(request, pk)
    meeting = get_object_or_404(alliance.meetings, pk=meeting_id)
    if request.method == "GET" and not request.user.can_write:
        return render(
            request,
            "organizations/meeting_detail.html",
            {"alliance": alliance, "meeting": meeting, "attendees": meeting.attendees.all()},
        )
    return _meeting_form_view(request, alliance, meeting)
