"""Interest communities (C6) for staff: list, page (members by role, approvals, charter, QR poster,
statistics, blacklist), member page with the credit record, and the member export."""

from __future__ import annotations

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.audit.actions import record
from tuanju.core.scope import user_sees_unit
from tuanju.core.views import paginate
from tuanju.imports.xlsx import StreamingSheetWriter

from . import actions, qr
from .forms import (
    BlacklistForm,
    CharterForm,
    CommunityForm,
    CommunityMembersForm,
    DecisionForm,
    OptionalReasonForm,
    PosterForm,
    ReasonForm,
    RoleForm,
)
from .models import (
    ROLE_ORDER,
    BlacklistEntry,
    Community,
    CommunityCategory,
    CommunityMember,
    CommunityRole,
    CreditRecord,
    JoinSource,
    MemberStatus,
)
from .tokens import VALIDITY_CHOICES, default_days
from .views import form_errors_to_messages, require_writer

TABS = ("members", "pending", "charter", "invite", "stats", "blacklist")
LIST_KEYS = ("q", "unit", "category", "open")


def _visible_community(request, pk) -> Community:
    return get_object_or_404(
        Community.objects.visible_to(request.user).select_related("unit", "category", "chat_group"), pk=pk
    )


def _member(community: Community, mid) -> CommunityMember:
    return get_object_or_404(
        CommunityMember.objects.select_related("person", "person__unit", "decided_by"),
        pk=mid,
        community=community,
    )


@login_required
@require_GET
def community_list(request):
    communities = Community.objects.visible_to(request.user).select_related("unit", "category").with_counts()
    get = request.GET.get
    if code := (get("unit") or "").strip():
        from tuanju.hierarchy.models import OrgUnit

        unit = OrgUnit.objects.filter(code=code[:32]).first()
        communities = communities.filter(unit__path__startswith=unit.path) if unit else communities.none()
    if (category := get("category") or "").isdigit():
        communities = communities.filter(category_id=int(category))
    if get("open") == "1":
        communities = communities.filter(is_open=True)
    communities = communities.search(get("q", "")).order_by("category__sort", "unit__path", "name")
    by_category = dict(
        Community.objects.visible_to(request.user).values_list("category").annotate(n=_count()).order_by()
    )
    categories = [(c, by_category.get(c.pk, 0)) for c in CommunityCategory.objects.all()]
    context = {
        "page_obj": paginate(request, communities),
        "params": {key: get(key, "") for key in LIST_KEYS},
        "filtered": any(get(key) for key in LIST_KEYS),
        "categories": categories,
        "can_write": request.user.can_write,
    }
    return render(request, "groups/communities/list.html", context)


def _count():
    from django.db.models import Count

    return Count("pk")


def _save_form(request, form, community: Community | None):
    data = form.cleaned_data
    fields = {k: data[k] for k in actions.COMMUNITY_FIELDS}
    fields["unit"] = data["unit"]
    try:
        return actions.save_community(
            community or Community(), data=fields, actor=request.user, platform=data.get("platform")
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            form.add_error(None, exc)
    return None


@login_required
@require_http_methods(["GET", "POST"])
def community_create(request):
    require_writer(request)
    form = CommunityForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        community = _save_form(request, form, None)
        if community is not None:
            messages.success(request, _("Community created. Write its charter, then share its QR code."))
            return redirect(reverse("groups:community", args=[community.pk]) + "?tab=charter")
    return render(
        request,
        "groups/form.html",
        {"form": form, "title": _("New community"), "back": reverse("groups:community-list")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def community_edit(request, pk):
    community = _visible_community(request, pk)
    require_writer(request)
    form = CommunityForm(request.POST or None, user=request.user, instance=community)
    if request.method == "POST" and form.is_valid() and _save_form(request, form, community) is not None:
        messages.success(request, _("Saved."))
        return redirect("groups:community", pk=community.pk)
    return render(
        request,
        "groups/form.html",
        {
            "form": form,
            "title": _("Edit %(name)s") % {"name": community.name},
            "back": reverse("groups:community", args=[community.pk]),
        },
    )


def _validity(request) -> int:
    form = PosterForm(request.GET)
    days = form.cleaned_data.get("days") if form.is_valid() else None
    return days or default_days()


@login_required
@require_GET
def community_detail(request, pk):
    community = _visible_community(request, pk)
    tab = request.GET.get("tab", "members")
    tab = tab if tab in TABS else "members"
    members = community.members.select_related("person", "person__unit")
    stats = actions.community_stats(community)
    context = {
        "community": community,
        "breadcrumb": community.unit.breadcrumb(),
        "tab": tab,
        "stats": stats,
        "can_write": request.user.can_write,
    }
    if tab == "members":
        active = members.filter(status=MemberStatus.ACTIVE)
        term = request.GET.get("q", "").strip()[:40]
        leaders = [
            (role, label, list(active.filter(role=role).order_by("joined_at")))
            for role, label in CommunityRole.choices
            if role != CommunityRole.MEMBER
        ]
        ordinary = active.filter(role=CommunityRole.MEMBER).order_by("-joined_at", "-pk")
        if term:
            ordinary = ordinary.filter(
                Q(person__name__contains=term) | Q(person__name_pinyin__startswith=term.lower())
            )
        context.update(leaders=leaders, page_obj=paginate(request, ordinary), q=term)
        if request.user.can_write:
            context["add_form"] = CommunityMembersForm(user=request.user)
    elif tab == "pending":
        context["pending"] = members.filter(status=MemberStatus.PENDING).order_by("applied_at", "pk")
    elif tab == "charter":
        context["charter_form"] = CharterForm(initial={"charter": community.charter})
    elif tab == "invite":
        days = _validity(request)
        context.update(
            days=days,
            validity_choices=VALIDITY_CHOICES,
            invite_url=qr.invite_url(request, community, days=days, channel=JoinSource.LINK),
            qr_data_uri=qr.svg_data_uri(
                qr.invite_url(request, community, days=days, channel=JoinSource.QR), scale=5
            ),
        )
    elif tab == "stats":
        role_labels, source_labels = dict(CommunityRole.choices), dict(JoinSource.choices)
        context["chart"] = {
            "months": stats["months"],
            "joins": stats["joins"],
            "roles": [{"name": str(role_labels[r]), "value": stats["by_role"].get(r, 0)} for r in ROLE_ORDER],
            "sources": [{"name": str(source_labels[s]), "value": n} for s, n in stats["by_source"].items()],
        }
        context["status_rows"] = [
            (label, stats["by_status"].get(value, 0)) for value, label in MemberStatus.choices
        ]
    elif tab == "blacklist":
        context["entries"] = community.blacklist.select_related("person", "decided_by", "lifted_by")
        if request.user.can_write:
            context["blacklist_form"] = BlacklistForm(community=community)
    return render(request, "groups/communities/detail.html", context)


@login_required
@require_POST
def community_charter(request, pk):
    community = _visible_community(request, pk)
    require_writer(request)
    form = CharterForm(request.POST)
    if form.is_valid():
        try:
            actions.update_charter(community, text=form.cleaned_data["charter"], actor=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Charter saved (version %(v)d).") % {"v": community.charter_version})
    else:
        form_errors_to_messages(request, form)
    return redirect(reverse("groups:community", args=[community.pk]) + "?tab=charter")


@login_required
@require_POST
def community_reset_invites(request, pk):
    community = _visible_community(request, pk)
    require_writer(request)
    actions.reset_invites(community, actor=request.user)
    messages.success(request, _("Every earlier invite link and QR code has been revoked."))
    return redirect(reverse("groups:community", args=[community.pk]) + "?tab=invite")


def _qr_url(request, community) -> str:
    return qr.invite_url(request, community, days=_validity(request), channel=JoinSource.QR)


@login_required
@require_GET
def community_qr_png(request, pk):
    community = _visible_community(request, pk)
    response = HttpResponse(qr.png(_qr_url(request, community)), content_type="image/png")
    response["Content-Disposition"] = f"attachment; filename=community-{community.pk}-qr.png"
    return response


@login_required
@require_GET
def community_qr_svg(request, pk):
    community = _visible_community(request, pk)
    response = HttpResponse(qr.svg(_qr_url(request, community)), content_type="image/svg+xml")
    response["Content-Disposition"] = f"attachment; filename=community-{community.pk}-qr.svg"
    return response


@login_required
@require_GET
def community_poster(request, pk):
    """A printable A4 poster: the community's name, introduction, QR code and validity."""
    community = _visible_community(request, pk)
    days = _validity(request)
    url = qr.invite_url(request, community, days=days, channel=JoinSource.QR)
    context = {
        "community": community,
        "qr_data_uri": qr.svg_data_uri(url, scale=10),
        "valid_until": timezone.localdate() + timezone.timedelta(days=days),
    }
    return render(request, "groups/communities/poster.html", context)


@login_required
@require_POST
def community_decide(request, pk):
    community = _visible_community(request, pk)
    require_writer(request)
    form = DecisionForm(request.POST, community=community)
    back = reverse("groups:community", args=[community.pk]) + "?tab=pending"
    if not form.is_valid():
        form_errors_to_messages(request, form)
        return redirect(back)
    members = CommunityMember.objects.filter(pk__in=[m.pk for m in form.cleaned_data["members"]])
    try:
        if form.cleaned_data["decision"] == "approve":
            count = actions.approve_members(community, members, actor=request.user)
            messages.success(request, _("%(count)d approved.") % {"count": count})
        else:
            count = actions.reject_members(
                community, members, actor=request.user, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("%(count)d rejected.") % {"count": count})
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(back)


@login_required
@require_POST
def community_member_add(request, pk):
    community = _visible_community(request, pk)
    require_writer(request)
    form = CommunityMembersForm(request.POST, user=request.user)
    if form.is_valid():
        added, skipped = actions.add_community_members(
            community, form.cleaned_data["lines"], role=form.cleaned_data["role"], actor=request.user
        )
        messages.success(request, _("%(count)d people added.") % {"count": added})
        for reason in skipped:
            messages.warning(request, reason)
    else:
        form_errors_to_messages(request, form)
    return redirect("groups:community", pk=community.pk)


@login_required
@require_GET
def community_member(request, pk, mid):
    community = _visible_community(request, pk)
    member = _member(community, mid)
    person = member.person
    credit = CreditRecord.objects.filter(person=person, community=community).select_related("created_by")
    context = {
        "community": community,
        "member": member,
        "person": person,
        "breadcrumb": community.unit.breadcrumb(),
        "credit": paginate(request, credit),
        "summary": actions.credit_summary(person, community),
        "blacklisted": actions.is_blacklisted(community, person),
        "person_visible": user_sees_unit(request.user, person.unit),
        "other_communities": person.community_memberships.filter(status=MemberStatus.ACTIVE)
        .exclude(community=community)
        .filter(community__in=Community.objects.visible_to(request.user))
        .select_related("community"),
        "can_write": request.user.can_write,
        "role_form": RoleForm(initial={"role": member.role}),
        "reason_form": ReasonForm(),
        "roles": CommunityRole.choices,
    }
    return render(request, "groups/communities/member.html", context)


def _back_to_member(community, member):
    return redirect("groups:community-member", pk=community.pk, mid=member.pk)


@login_required
@require_POST
def community_member_role(request, pk, mid):
    community = _visible_community(request, pk)
    require_writer(request)
    member = _member(community, mid)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            actions.set_role(member, form.cleaned_data["role"], actor=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Saved."))
    else:
        form_errors_to_messages(request, form)
    return _back_to_member(community, member)


@login_required
@require_POST
def community_member_remove(request, pk, mid):
    community = _visible_community(request, pk)
    require_writer(request)
    member = _member(community, mid)
    form = OptionalReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        actions.remove_community_member(member, actor=request.user, reason=reason)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Removed from the community."))
    return _back_to_member(community, member)


@login_required
@require_POST
def community_member_warn(request, pk, mid):
    community = _visible_community(request, pk)
    require_writer(request)
    member = _member(community, mid)
    form = ReasonForm(request.POST)
    if form.is_valid():
        actions.warn(community, member.person, reason=form.cleaned_data["reason"], actor=request.user)
        messages.success(request, _("Warning recorded."))
    else:
        form_errors_to_messages(request, form)
    return _back_to_member(community, member)


@login_required
@require_POST
def community_member_blacklist(request, pk, mid):
    community = _visible_community(request, pk)
    require_writer(request)
    member = _member(community, mid)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            actions.blacklist(
                community, member.person, reason=form.cleaned_data["reason"], actor=request.user
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Added to the blacklist."))
    else:
        form_errors_to_messages(request, form)
    return _back_to_member(community, member)


@login_required
@require_POST
def community_blacklist_add(request, pk):
    community = _visible_community(request, pk)
    require_writer(request)
    form = BlacklistForm(request.POST, community=community)
    if form.is_valid():
        try:
            actions.blacklist(
                community, form.cleaned_data["person"], reason=form.cleaned_data["reason"], actor=request.user
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Added to the blacklist."))
    else:
        form_errors_to_messages(request, form)
    return redirect(reverse("groups:community", args=[community.pk]) + "?tab=blacklist")


@login_required
@require_POST
def community_blacklist_lift(request, pk, eid):
    community = _visible_community(request, pk)
    require_writer(request)
    entry = get_object_or_404(
        BlacklistEntry.objects.select_related("person", "community__unit"), pk=eid, community=community
    )
    form = OptionalReasonForm(request.POST)
    try:
        actions.lift_blacklist(
            entry, actor=request.user, reason=form.cleaned_data["reason"] if form.is_valid() else ""
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Blacklist entry lifted."))
    return redirect(reverse("groups:community", args=[community.pk]) + "?tab=blacklist")


MEMBER_EXPORT_HEADER = [
    "姓名",
    "角色",
    "状态",
    "手机号",
    "身份证号",
    "所属单位",
    "加入方式",
    "是否花名册已有",
    "申请时间",
    "加入时间",
]


@login_required
@require_GET
def community_export(request, pk):
    """The community's members and applicants (personal data masked) as xlsx."""
    community = _visible_community(request, pk)
    members = community.members.select_related("person", "person__unit").order_by(
        "status", "role", "applied_at"
    )
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    writer = StreamingSheetWriter(handle, "社群成员")
    writer.header(MEMBER_EXPORT_HEADER, [10, 10, 10, 14, 20, 20, 10, 12, 18, 18])
    roles, statuses, sources = (
        dict(CommunityRole.choices),
        dict(MemberStatus.choices),
        dict(JoinSource.choices),
    )
    count = 0
    for m in members.iterator(chunk_size=2000):
        writer.write(
            [
                m.person.name,
                str(roles[m.role]),
                str(statuses[m.status]),
                m.person.phone_masked,
                m.person.resident_id_masked,
                m.person.unit.name,
                str(sources.get(m.source, m.source)),
                "是" if m.matched_roster else "否（加入时新登记）",
                timezone.localtime(m.applied_at),
                timezone.localtime(m.joined_at) if m.joined_at else "",
            ]
        )
        count += 1
    writer.close()
    handle.seek(0)
    record(request.user, "export", community, details={"kind": "community_members", "rows": count})
    return FileResponse(handle, as_attachment=True, filename=f"{community.name}-成员.xlsx")
