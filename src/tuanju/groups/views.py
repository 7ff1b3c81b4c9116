"""Tower groups (C5) for staff: coverage and gaps per unit, one-click build, group lists and details.

Views stay thin: scope comes from ``visible_to``, rules from the forms, writes from groups.actions.
"""

from __future__ import annotations

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.audit.actions import record
from tuanju.core.views import paginate
from tuanju.hierarchy.models import TOWER_LEVELS, Level, OrgUnit
from tuanju.imports.xlsx import StreamingSheetWriter

from . import actions
from .coverage import coverage, units_without_group
from .filters import LIST_KEYS, filter_groups
from .forms import (
    LEVEL_CHOICES,
    BulkLiaisonForm,
    GroupCreateForm,
    GroupEditForm,
    PeopleLinesForm,
    PersonOrStaffForm,
)
from .models import ChatGroup, GroupKind, GroupLiaison, GroupMember, Platform


def require_writer(request) -> None:
    if not request.user.can_write:
        raise PermissionDenied(_("Your role may not change groups."))


def safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return fallback


def form_errors_to_messages(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _visible_unit(request, pk) -> OrgUnit:
    return get_object_or_404(OrgUnit.objects.visible_to(request.user), pk=pk)


def _home_unit(request) -> OrgUnit:
    code = request.GET.get("unit", "").strip()[:32]
    if code:
        return get_object_or_404(OrgUnit.objects.visible_to(request.user), code=code)
    if request.user.unit_id:
        return request.user.unit
    root = OrgUnit.objects.visible_to(request.user).order_by("path").first()
    if root is None:
        raise PermissionDenied(_("Your account is not bound to a unit."))
    return root


def _visible_group(request, pk) -> ChatGroup:
    return get_object_or_404(
        ChatGroup.objects.visible_to(request.user).select_related(
            "unit", "parent", "owner_user", "owner_person", "parent__unit"
        ),
        pk=pk,
    )


# --- Coverage ---------------------------------------------------------------------------------------


@login_required
@require_GET
def tower(request, unit_pk=None):
    unit = _visible_unit(request, unit_pk) if unit_pk else _home_unit(request)
    cov = coverage(unit)
    levels = [(Level(level).label, cov.by_level[str(level)]) for level in TOWER_LEVELS]
    chart_rows = [row for row in cov.children if row.tally.units or row.tally.roster][:60]
    chart = {
        "names": [row.unit.name for row in chart_rows],
        "groups": [round(100 * (row.tally.group_rate or 0), 1) for row in chart_rows],
        "people": [round(100 * (row.tally.people_rate or 0), 1) for row in chart_rows],
    }
    has_tower_units = cov.total.units > 0
    context = {
        "unit": unit,
        "breadcrumb": unit.breadcrumb(),
        "cov": cov,
        "levels": levels,
        "chart": chart,
        "show_chart": len(chart_rows) > 1,
        "can_write": request.user.can_write,
        "has_tower_units": has_tower_units,
        "is_tower_unit": unit.level in TOWER_LEVELS,
    }
    return render(request, "groups/tower.html", context)


@login_required
@require_POST
def build(request, unit_pk):
    unit = _visible_unit(request, unit_pk)
    require_writer(request)
    result = actions.build_towers(unit, actor=request.user)
    if result.created:
        messages.success(
            request,
            _("%(created)d groups built in %(seconds).1f s (%(existing)d already existed).")
            % {"created": result.created, "seconds": result.seconds, "existing": result.existing},
        )
    else:
        messages.info(
            request,
            _("Every tower unit already has its group (%(existing)d).") % {"existing": result.existing},
        )
    if request.POST.get("place") == "1":
        from .tasks import place_people_task

        place_people_task(unit.pk, request.user.pk)
        messages.info(request, _("The roster's people are being placed in their groups in the background."))
    return redirect("groups:tower-unit", unit_pk=unit.pk)


@login_required
@require_POST
def place(request, unit_pk):
    unit = _visible_unit(request, unit_pk)
    require_writer(request)
    from .tasks import place_people_task

    place_people_task(unit.pk, request.user.pk)
    messages.info(request, _("The roster's people are being placed in their groups in the background."))
    return redirect("groups:tower-unit", unit_pk=unit.pk)


@login_required
@require_GET
def missing_units(request, unit_pk):
    unit = _visible_unit(request, unit_pk)
    context = {
        "unit": unit,
        "breadcrumb": unit.breadcrumb(),
        "page_obj": paginate(request, units_without_group(unit)),
        "can_write": request.user.can_write,
    }
    return render(request, "groups/missing_units.html", context)


# --- Group list, export, bulk liaison -------------------------------------------------------------------


@login_required
@require_GET
def group_list(request):
    groups = filter_groups(
        ChatGroup.objects.visible_to(request.user).select_related("unit", "owner_user", "owner_person"),
        request.GET,
    )
    context = {
        "page_obj": paginate(request, groups),
        "params": {key: request.GET.get(key, "") for key in LIST_KEYS},
        "filtered": any(request.GET.get(key) for key in LIST_KEYS if key != "sort"),
        "kinds": GroupKind.choices,
        "levels": LEVEL_CHOICES,
        "platforms": Platform.choices,
        "can_write": request.user.can_write,
        "liaison_form": BulkLiaisonForm(user=request.user) if request.user.can_write else None,
    }
    return render(request, "groups/list.html", context)


EXPORT_HEADER = [
    "群名称",
    "群类型",
    "层级",
    "单位编码",
    "单位",
    "上级群",
    "平台",
    "平台群名称",
    "平台群号",
    "群主",
    "联络员人数",
    "成员数",
    "最近活动",
    "群机器人",
]


@login_required
@require_GET
def export(request):
    groups = filter_groups(
        ChatGroup.objects.visible_to(request.user).select_related(
            "unit", "parent", "owner_user", "owner_person"
        ),
        request.GET,
    )
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    writer = StreamingSheetWriter(handle, "群")
    writer.header(EXPORT_HEADER, [34, 12, 10, 20, 16, 30, 8, 24, 20, 10, 10, 8, 16, 10])
    kinds, levels, platforms = dict(GroupKind.choices), dict(Level.choices), dict(Platform.choices)
    count = 0
    for group in groups.iterator(chunk_size=2000):
        writer.write(
            [
                group.name,
                str(kinds.get(group.kind, group.kind)),
                str(levels.get(group.unit.level, "")) if group.kind == GroupKind.TOWER else "",
                group.unit.code,
                group.unit.name,
                group.parent.name if group.parent_id else "",
                str(platforms.get(group.platform, group.platform)),
                group.external_name,
                group.external_id,
                group.owner_name,
                group.liaison_count,
                group.member_count,
                timezone.localtime(group.last_activity_at) if group.last_activity_at else "",
                "是" if group.has_robot else "否",
            ]
        )
        count += 1
    writer.close()
    handle.seek(0)
    filters = {k: request.GET[k][:50] for k in LIST_KEYS if request.GET.get(k)}
    record(request.user, "export", None, details={"kind": "groups", "rows": count, "filters": filters})
    return FileResponse(handle, as_attachment=True, filename="群列表.xlsx")


@login_required
@require_POST
def bulk_liaison(request):
    require_writer(request)
    form = BulkLiaisonForm(request.POST, user=request.user)
    back = safe_next(request, reverse("groups:list"))
    if not form.is_valid():
        form_errors_to_messages(request, form)
        return redirect(back)
    data = form.cleaned_data
    count = actions.assign_liaison(
        data["groups"],
        user=data.get("user"),
        person=data.get("person_obj"),
        note=data.get("note", ""),
        actor=request.user,
    )
    messages.success(request, _("Liaison added to %(count)d groups.") % {"count": count})
    return redirect(back)


# --- One group --------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    require_writer(request)
    form = GroupCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            group = actions.create_group(
                data["unit"],
                kind=data["kind"],
                name=data["name"],
                ref_type=data.get("ref_type") or "",
                ref_id=data.get("ref_id"),
                platform=data["platform"],
                external_id=data.get("external_id", ""),
                external_name=data.get("external_name", ""),
                notes=data.get("notes", ""),
                webhook_url=data.get("webhook_url", ""),
                webhook_secret=data.get("webhook_secret", ""),
                actor=request.user,
            )
        except ValidationError as exc:
            _add_validation_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("groups:detail", pk=group.pk)
    return render(
        request, "groups/form.html", {"form": form, "title": _("New group"), "back": reverse("groups:list")}
    )


def _add_validation_error(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        form.add_error(None, exc)


def _detail_context(request, group: ChatGroup, **extra) -> dict:
    members = group.members.select_related("person", "person__unit").order_by(
        "-is_primary", "person__name_pinyin", "pk"
    )
    term = request.GET.get("q", "").strip()[:40]
    if term:
        members = members.filter(
            Q(person__name__contains=term) | Q(person__name_pinyin__startswith=term.lower())
        )
    can_write = request.user.can_write
    return {
        "group": group,
        "breadcrumb": group.unit.breadcrumb(),
        "liaisons": group.liaisons.select_related("user", "user__unit", "person", "person__unit").order_by(
            "since", "pk"
        ),
        "children": group.children.select_related("unit").order_by("unit__path")[:60],
        "child_count": group.children.count(),
        "page_obj": paginate(request, members),
        "q": term,
        "can_write": can_write,
        "liaison_form": PersonOrStaffForm(user=request.user) if can_write else None,
        "member_form": PeopleLinesForm(user=request.user) if can_write else None,
        "owner_form": PersonOrStaffForm(user=request.user) if can_write else None,
        **extra,
    }


@login_required
@require_GET
def detail(request, pk):
    group = _visible_group(request, pk)
    return render(request, "groups/detail.html", _detail_context(request, group))


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    group = _visible_group(request, pk)
    require_writer(request)
    form = GroupEditForm(request.POST or None, initial=GroupEditForm.initial_from(group))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_group(
                group,
                data={k: data[k] for k in actions.GROUP_FIELDS},
                webhook_url=data.get("webhook_url") or None,
                webhook_secret=data.get("webhook_secret") or None,
                clear_webhook=data.get("clear_webhook", False),
                actor=request.user,
            )
        except ValidationError as exc:
            _add_validation_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("groups:detail", pk=group.pk)
    title = _("Edit %(name)s") % {"name": group.name}
    return render(
        request,
        "groups/form.html",
        {"form": form, "title": title, "group": group, "back": reverse("groups:detail", args=[group.pk])},
    )


@login_required
@require_POST
def owner(request, pk):
    group = _visible_group(request, pk)
    require_writer(request)
    if request.POST.get("clear") == "1":
        actions.set_owner(group, actor=request.user)
        messages.success(request, _("Saved."))
        return redirect("groups:detail", pk=group.pk)
    form = PersonOrStaffForm(request.POST, user=request.user)
    if form.is_valid():
        actions.set_owner(
            group,
            user=form.cleaned_data.get("user"),
            person=form.cleaned_data.get("person_obj"),
            actor=request.user,
        )
        messages.success(request, _("Saved."))
    else:
        form_errors_to_messages(request, form)
    return redirect("groups:detail", pk=group.pk)


@login_required
@require_POST
def liaison_add(request, pk):
    group = _visible_group(request, pk)
    require_writer(request)
    form = PersonOrStaffForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.add_liaison(
                group,
                user=data.get("user"),
                person=data.get("person_obj"),
                note=data.get("note", ""),
                actor=request.user,
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Liaison added."))
    else:
        form_errors_to_messages(request, form)
    return redirect("groups:detail", pk=group.pk)


@login_required
@require_POST
def liaison_remove(request, pk, lid):
    group = _visible_group(request, pk)
    require_writer(request)
    liaison = get_object_or_404(
        GroupLiaison.objects.select_related("user", "person", "group__unit"), pk=lid, group=group
    )
    actions.remove_liaison(liaison, actor=request.user)
    messages.success(request, _("Liaison removed."))
    return redirect("groups:detail", pk=group.pk)


@login_required
@require_POST
def member_add(request, pk):
    group = _visible_group(request, pk)
    require_writer(request)
    form = PeopleLinesForm(request.POST, user=request.user)
    if form.is_valid():
        count = actions.add_group_members(group, form.cleaned_data["lines"], actor=request.user)
        messages.success(request, _("%(count)d people added.") % {"count": count})
    else:
        form_errors_to_messages(request, form)
    return redirect("groups:detail", pk=group.pk)


@login_required
@require_POST
def member_remove(request, pk, mid):
    group = _visible_group(request, pk)
    require_writer(request)
    member = get_object_or_404(GroupMember.objects.select_related("group"), pk=mid, group=group)
    actions.remove_group_member(member, actor=request.user)
    messages.success(request, _("Removed from the group."))
    return redirect("groups:detail", pk=group.pk)
