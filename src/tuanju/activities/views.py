"""Activities for staff: list and export, create/edit/publish/cancel, the activity page (overview,
registrations with leave and on-behalf registration, check-in with the rotating code screen,
hours, album and summary, credit), the ticket scan page, volunteer hours with the unit roll-up
and the xlsx export, activity-frequency health, and the credit-rule board."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Substr
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.core.views import paginate
from tuanju.groups.models import Community, CreditRecord
from tuanju.hierarchy.models import OrgUnit
from tuanju.people.models import Person

from . import actions, exporting, health, qr, tokens
from .forms import (
    ActivityForm,
    LeaveDecisionForm,
    ManualCheckForm,
    OptionalReasonForm,
    PersonLookupForm,
    PhotoForm,
    ProposalDecisionForm,
    ReasonForm,
    SummaryForm,
)
from .models import (
    Activity,
    ActivityStatus,
    ActivityType,
    BlacklistProposal,
    CheckIn,
    CheckMethod,
    CreditBlock,
    LeaveStatus,
    OrganizerKind,
    Outcome,
    Photo,
    ProposalStatus,
    Registration,
    RegistrationSource,
    RegistrationStatus,
)

STATUS_ORDER = Case(
    *(When(status=s, then=Value(i)) for i, s in enumerate(["confirmed", "waitlisted", "leave", "cancelled"])),
    output_field=IntegerField(),
)
ROUNDING_LABELS = {"down": _lazy("down"), "nearest": _lazy("to the nearest step"), "up": _lazy("up")}
TABS = ("overview", "registrations", "checkin", "hours", "album", "credit")
LIST_KEYS = ("q", "unit", "kind", "type", "phase", "from", "to", "sort")
SORTS = {"start": "starts_at", "-start": "-starts_at", "title": "title", "created": "-created_at"}


def require_writer(request) -> None:
    if not request.user.can_write:
        raise PermissionDenied(_("Your role may not change activities."))


def require_checker(request) -> None:
    if not actions.can_check_in(request.user):
        raise PermissionDenied(_("Your role may not check people in."))


def _errors_to_messages(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _activity(request, pk) -> Activity:
    return get_object_or_404(
        Activity.objects.visible_to(request.user).select_related(
            "unit", "organization", "alliance", "community", "duty_organization", "audience_unit"
        ),
        pk=pk,
    )


def _registration(activity: Activity, rid) -> Registration:
    reg = get_object_or_404(
        Registration.objects.select_related("person", "person__unit"), pk=rid, activity=activity
    )
    reg.activity = activity
    return reg


def _tab_url(activity: Activity, tab: str) -> str:
    return reverse("activities:detail", args=[activity.pk]) + f"?tab={tab}"


def _unit_from(request, key: str = "unit") -> OrgUnit | None:
    code = (request.GET.get(key) or "").strip()[:32]
    if not code:
        return None
    return OrgUnit.objects.visible_to(request.user).filter(code=code).first()


# --- List ----------------------------------------------------------------------------------------


def _filtered(request):
    get = request.GET.get
    qs = Activity.objects.visible_to(request.user).select_related("unit")
    if get("unit"):
        unit = _unit_from(request)
        qs = qs.in_subtree(unit) if unit else qs.none()
    if get("kind") in OrganizerKind.values:
        qs = qs.filter(organizer_kind=get("kind"))
    if get("type") in ActivityType.values:
        qs = qs.filter(activity_type=get("type"))
    now = timezone.now()
    phase = get("phase")
    if phase == "upcoming":
        qs = qs.published().filter(starts_at__gt=now)
    elif phase == "ongoing":
        qs = qs.published().filter(starts_at__lte=now, ends_at__gt=now)
    elif phase == "ended":
        qs = qs.published().filter(ends_at__lte=now)
    elif phase == "unsettled":
        qs = qs.published().filter(ends_at__lte=now, settled_at__isnull=True)
    elif phase in (ActivityStatus.DRAFT, ActivityStatus.CANCELLED):
        qs = qs.filter(status=phase)
    for key, lookup in (("from", "starts_at__date__gte"), ("to", "starts_at__date__lte")):
        value = (get(key) or "").strip()[:10]
        if value:
            try:
                qs = qs.filter(**{lookup: timezone.datetime.fromisoformat(value).date()})
            except ValueError:
                messages.error(request, _("Dates are written like 2026-05-01."))
    return qs.search(get("q", "")).order_by(SORTS.get(get("sort"), "-starts_at"), "-pk")


@login_required
@require_GET
def activity_list(request):
    activities = _filtered(request).with_counts()
    now = timezone.now()
    visible = Activity.objects.visible_to(request.user)
    context = {
        "page_obj": paginate(request, activities),
        "params": {key: request.GET.get(key, "") for key in LIST_KEYS},
        "filtered": any(request.GET.get(key) for key in LIST_KEYS if key != "sort"),
        "kinds": OrganizerKind.choices,
        "types": ActivityType.choices,
        "now": now,
        "can_write": request.user.can_write,
        "stats": visible.aggregate(
            upcoming=Count("pk", filter=Q(status="published", starts_at__gt=now)),
            ongoing=Count("pk", filter=Q(status="published", starts_at__lte=now, ends_at__gt=now)),
            unsettled=Count("pk", filter=Q(status="published", ends_at__lte=now, settled_at__isnull=True)),
            month=Count(
                "pk",
                filter=Q(status="published", starts_at__gte=now - timedelta(days=30), starts_at__lte=now),
            ),
        ),
    }
    return render(request, "activities/list.html", context)


LIST_EXPORT_HEADER = [
    "活动名称",
    "类型",
    "组织方",
    "主办团委",
    "开始时间",
    "结束时间",
    "地点",
    "状态",
    "名额",
    "已报名",
    "候补",
    "签到",
    "志愿时长（合计）",
]


@login_required
@require_GET
def export_list(request):
    from tuanju.audit.actions import record
    from tuanju.imports.xlsx import StreamingSheetWriter

    activities = (
        _filtered(request)
        .with_counts()
        .annotate(
            hours_total=Sum("registrations__hours", filter=Q(registrations__hours_confirmed_at__isnull=False))
        )
    )
    handle = exporting._tempfile()
    writer = StreamingSheetWriter(handle, "活动")
    writer.header(LIST_EXPORT_HEADER, [30, 12, 28, 16, 18, 18, 28, 8, 8, 8, 8, 8, 12])
    types, statuses = dict(ActivityType.choices), dict(ActivityStatus.choices)
    count = 0
    for a in activities.iterator(chunk_size=1000):
        writer.write(
            [
                a.title, str(types[a.activity_type]), a.organizer_name, a.unit.name,
                timezone.localtime(a.starts_at), timezone.localtime(a.ends_at), a.place,
                str(statuses[a.status]), a.capacity or "", a.confirmed_count, a.waitlist_count,
                a.checked_in_count, float(a.hours_total or 0),
            ]
        )  # fmt: skip
        count += 1
    writer.close()
    handle.seek(0)
    record(request.user, "export", None, details={"kind": "activities", "rows": count})
    return FileResponse(handle, as_attachment=True, filename="活动列表.xlsx")


# --- Create, edit, life cycle --------------------------------------------------------------------


def _save(request, form, activity: Activity | None):
    try:
        return actions.save_activity(activity or Activity(), data=form.activity_data(), actor=request.user)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        else:
            form.add_error(None, exc)
    return None


def _initial_for_create(request) -> dict:
    get = request.GET.get
    now = timezone.localtime()
    start = (now + timedelta(days=7)).replace(hour=9, minute=0, second=0, microsecond=0)
    initial = {
        "organizer_kind": OrganizerKind.UNIT,
        "unit": request.user.unit.code if request.user.unit_id else "",
        "activity_type": ActivityType.VOLUNTEER,
        "starts_at": start,
        "ends_at": start + timedelta(hours=3),
        "cancel_cutoff_hours": actions.conf.get("ACTIVITY_CANCEL_CUTOFF_HOURS"),
        "late_after_minutes": actions.conf.get("ACTIVITY_LATE_AFTER_MINUTES"),
        "waitlist_enabled": True,
        "volunteer_hours": True,
        "audience": "open",
    }
    for kind in ("organization", "alliance", "community"):
        if (get(kind) or "").isdigit():
            initial.update(organizer_kind=kind, **{kind: int(get(kind))})
    if initial["organizer_kind"] == OrganizerKind.COMMUNITY:
        initial["activity_type"] = ActivityType.CULTURE
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    require_writer(request)
    form = ActivityForm(request.POST or None, user=request.user, initial=_initial_for_create(request))
    if request.method == "POST" and form.is_valid():
        activity = _save(request, form, None)
        if activity is not None:
            messages.success(request, _("Draft saved. Check it, then publish it to open registration."))
            return redirect("activities:detail", pk=activity.pk)
    return render(
        request,
        "activities/form.html",
        {"form": form, "title": _("New activity"), "back": reverse("activities:list")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    activity = _activity(request, pk)
    require_writer(request)
    form = ActivityForm(
        request.POST or None,
        user=request.user,
        activity=activity,
        initial=ActivityForm.initial_from(activity),
    )
    if request.method == "POST" and form.is_valid() and _save(request, form, activity) is not None:
        messages.success(request, _("Saved."))
        return redirect("activities:detail", pk=activity.pk)
    return render(
        request,
        "activities/form.html",
        {
            "form": form,
            "title": _("Edit %(title)s") % {"title": activity.title},
            "back": reverse("activities:detail", args=[pk]),
            "activity": activity,
        },
    )


def _post_action(request, pk, func, success: str, tab: str = "overview"):
    activity = _activity(request, pk)
    require_writer(request)
    try:
        func(activity)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, success)
    return redirect(_tab_url(activity, tab))


@login_required
@require_POST
def publish(request, pk):
    return _post_action(
        request,
        pk,
        lambda a: actions.publish(a, actor=request.user),
        _("Published: registration follows its window."),
    )


@login_required
@require_POST
def cancel(request, pk):
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _post_action(
        request,
        pk,
        lambda a: actions.cancel_activity(a, reason=reason, actor=request.user),
        _("The activity was cancelled."),
    )


@login_required
@require_POST
def delete(request, pk):
    activity = _activity(request, pk)
    require_writer(request)
    try:
        actions.delete_draft(activity, actor=request.user)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
        return redirect("activities:detail", pk=pk)
    messages.success(request, _("Draft deleted."))
    return redirect("activities:list")


@login_required
@require_POST
def reset_links(request, pk):
    return _post_action(
        request,
        pk,
        lambda a: actions.rotate_links(a, actor=request.user),
        _("Every earlier registration link and QR code has been revoked."),
    )


@login_required
@require_POST
def settle(request, pk):
    def run(activity):
        result = actions.settle_attendance(activity, actor=request.user)
        if result.already:
            raise ValidationError(_("Attendance was already settled."))
        messages.info(
            request,
            _(
                "%(a)d attended, %(b)d absent, %(c)d excused; %(w)d warnings and %(k)d registration blocks under the credit rule."
            )
            % {
                "a": result.attended,
                "b": result.absent,
                "c": result.excused,
                "w": result.warnings,
                "k": result.blocks,
            },
        )

    return _post_action(request, pk, run, _("Attendance settled."), tab="registrations")


@login_required
@require_POST
def summary(request, pk):
    form = SummaryForm(request.POST)
    text = form.cleaned_data["summary"] if form.is_valid() else ""
    return _post_action(
        request,
        pk,
        lambda a: actions.save_summary(a, text=text, actor=request.user),
        _("Summary saved."),
        tab="album",
    )


@login_required
@require_POST
def photos_add(request, pk):
    activity = _activity(request, pk)
    require_writer(request)
    form = PhotoForm(request.POST, request.FILES)
    files = request.FILES.getlist("photos")
    if not files:
        messages.error(request, "请选择照片")
    added = 0
    for upload in files[:20]:
        try:
            actions.add_photo(activity, upload, caption=request.POST.get("caption", ""), actor=request.user)
            added += 1
        except ValidationError as exc:
            _errors_to_messages(request, exc)
    if added:
        messages.success(request, _("%(n)d photos added.") % {"n": added})
    del form
    return redirect(_tab_url(activity, "album"))


@login_required
@require_POST
def photo_delete(request, pk, photo_id):
    activity = _activity(request, pk)
    require_writer(request)
    photo = get_object_or_404(Photo, pk=photo_id, activity=activity)
    actions.delete_photo(photo, actor=request.user)
    messages.success(request, _("Photo deleted."))
    return redirect(_tab_url(activity, "album"))


@login_required
@require_GET
def photo_file(request, pk, photo_id):
    activity = _activity(request, pk)
    photo = get_object_or_404(Photo, pk=photo_id, activity=activity)
    return FileResponse(photo.image.open("rb"), content_type="image/jpeg")


# --- The activity page ---------------------------------------------------------------------------


def _counts(activity: Activity) -> dict:
    regs = activity.registrations.all()
    row = regs.aggregate(
        confirmed=Count("pk", filter=Q(status=RegistrationStatus.CONFIRMED)),
        waitlisted=Count("pk", filter=Q(status=RegistrationStatus.WAITLISTED)),
        leave=Count("pk", filter=Q(status=RegistrationStatus.ON_LEAVE)),
        cancelled=Count("pk", filter=Q(status=RegistrationStatus.CANCELLED)),
        leave_pending=Count("pk", filter=Q(leave_status=LeaveStatus.PENDING)),
        checked_in=Count("pk", filter=Q(checked_in_at__isnull=False)),
        checked_out=Count("pk", filter=Q(checked_out_at__isnull=False)),
        late=Count("pk", filter=Q(late_minutes__gt=0)),
        attended=Count("pk", filter=Q(outcome=Outcome.ATTENDED)),
        absent=Count("pk", filter=Q(outcome=Outcome.ABSENT)),
        excused=Count("pk", filter=Q(outcome=Outcome.EXCUSED)),
        hours=Sum("hours", filter=Q(hours_confirmed_at__isnull=False)),
        hours_computed=Sum("hours_computed"),
    )
    expected = row["confirmed"] + row["leave"]
    row["rate"] = (
        round(100 * row["attended"] / (row["attended"] + row["absent"]))
        if row["attended"] + row["absent"]
        else None
    )
    row["expected"] = expected
    return row


@login_required
@require_GET
def detail(request, pk):
    activity = _activity(request, pk)
    tab = request.GET.get("tab", "overview")
    tab = tab if tab in TABS else "overview"
    if tab == "credit" and not activity.community_id:
        tab = "overview"
    now = timezone.now()
    context = {
        "activity": activity,
        "breadcrumb": activity.unit.breadcrumb(),
        "tab": tab,
        "phase": activity.phase(now),
        "counts": _counts(activity),
        "can_write": request.user.can_write,
        "can_check": actions.can_check_in(request.user),
        "can_unmask": request.user.can_unmask,
        "now": now,
        "audience": actions.audience_label(activity),
    }
    regs = activity.registrations.select_related("person", "person__unit")
    if tab == "overview":
        context.update(
            link_url=qr.registration_url(request, activity, "link"),
            group_url=qr.registration_url(request, activity, "group"),
            qr_data_uri=qr.svg_data_uri(qr.registration_url(request, activity, "qr"), scale=5)
            if activity.status == ActivityStatus.PUBLISHED
            else "",
            group_message=_group_message(request, activity),
            checkins=CheckIn.objects.filter(activity=activity).select_related("registration__person", "by")[
                :8
            ],
        )
    elif tab == "registrations":
        status = request.GET.get("status", "")
        rows = regs
        if status in RegistrationStatus.values:
            rows = rows.filter(status=status)
        elif status == "leave_pending":
            rows = rows.filter(leave_status=LeaveStatus.PENDING)
        elif status in ("attended", "absent", "excused"):
            rows = rows.filter(outcome=status)
        rows = rows.search(request.GET.get("q", "")).order_by(STATUS_ORDER, "registered_at", "pk")
        context.update(
            page_obj=paginate(request, rows),
            status=status,
            q=request.GET.get("q", "")[:40],
            add_form=PersonLookupForm(user=request.user),
            statuses=RegistrationStatus.choices,
        )
    elif tab == "checkin":
        rows = regs.filter(
            status__in=[
                RegistrationStatus.CONFIRMED,
                RegistrationStatus.ON_LEAVE,
                RegistrationStatus.WAITLISTED,
            ]
        )
        which = request.GET.get("show", "missing")
        if which == "missing":
            rows = rows.filter(checked_in_at__isnull=True, status=RegistrationStatus.CONFIRMED)
        elif which == "late":
            rows = rows.filter(late_minutes__gt=0)
        elif which == "in":
            rows = rows.filter(checked_in_at__isnull=False)
        rows = rows.search(request.GET.get("q", "")).order_by("person__name_pinyin", "pk")
        context.update(
            page_obj=paginate(request, rows),
            show=which,
            q=request.GET.get("q", "")[:40],
            manual_form=ManualCheckForm(),
            log=CheckIn.objects.filter(activity=activity).select_related("registration__person", "by")[:30],
        )
    elif tab == "hours":
        rows = (
            regs.filter(outcome=Outcome.ATTENDED)
            if activity.settled_at
            else regs.filter(checked_in_at__isnull=False)
        )
        context.update(
            rows=rows.order_by("person__name_pinyin", "pk"),
            step=actions.conf.get("ACTIVITY_HOURS_STEP_MINUTES"),
            rounding=ROUNDING_LABELS.get(actions.conf.get("ACTIVITY_HOURS_ROUNDING"), ""),
        )
    elif tab == "album":
        context.update(
            photos=activity.photos.all(),
            photo_form=PhotoForm(),
            summary_form=SummaryForm(initial={"summary": activity.summary}),
        )
    elif tab == "credit":
        absent = regs.filter(outcome=Outcome.ABSENT).order_by("person__name_pinyin")
        people = []
        for reg in absent:
            state = actions.credit_state(reg.person, activity.community)
            people.append((reg, state))
        context.update(
            credit_people=people,
            blocks=CreditBlock.objects.filter(
                Q(trigger=activity) | Q(blocked_activity=activity)
            ).select_related("person"),
            entries=CreditRecord.objects.filter(ref_type="activities.activity", ref_id=activity.pk)
            .exclude(kind__in=["attended"])
            .select_related("person")[:200],
        )
    return render(request, "activities/detail.html", context)


def _group_message(request, activity: Activity) -> str:
    lines = [
        f"【活动报名】{activity.title}",
        f"时间：{actions.when(activity.starts_at)}—{timezone.localtime(activity.ends_at):%H:%M}",
        f"地点：{activity.place}",
        f"主办：{activity.organizer_name}",
    ]
    if activity.capacity:
        lines.append(f"名额：{activity.capacity}人，报满可候补")
    lines.append(f"报名截止：{actions.when(activity.closes_at)}")
    lines.append(f"点击报名：{qr.registration_url(request, activity, RegistrationSource.GROUP)}")
    return "\n".join(lines)


@login_required
@require_GET
def qr_png(request, pk):
    activity = _activity(request, pk)
    response = HttpResponse(qr.png(qr.registration_url(request, activity, "qr")), content_type="image/png")
    response["Content-Disposition"] = f"attachment; filename=activity-{activity.pk}-qr.png"
    return response


@login_required
@require_GET
def poster(request, pk):
    activity = _activity(request, pk)
    context = {
        "activity": activity,
        "qr_data_uri": qr.svg_data_uri(qr.registration_url(request, activity, "qr"), scale=10),
        "audience": actions.audience_label(activity),
    }
    return render(request, "activities/poster.html", context)


# --- Registrations -------------------------------------------------------------------------------


@login_required
@require_POST
def registration_add(request, pk):
    activity = _activity(request, pk)
    require_writer(request)
    form = PersonLookupForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            result = actions.register(
                activity,
                person=form.cleaned_data["person"],
                source=RegistrationSource.STAFF,
                actor=request.user,
            )
        except actions.Refused as exc:
            messages.error(request, exc.message)
        else:
            name = result.registration.person.name
            if result.outcome == "already":
                messages.info(request, _("%(name)s has already registered.") % {"name": name})
            elif result.outcome == "waitlisted":
                messages.warning(
                    request,
                    _("%(name)s is on the waitlist (number %(n)s).") % {"name": name, "n": result.position},
                )
            else:
                messages.success(request, _("%(name)s registered.") % {"name": name})
    else:
        _form_errors(request, form)
    return redirect(_tab_url(activity, "registrations"))


@login_required
@require_POST
def registration_cancel(request, pk, rid):
    activity = _activity(request, pk)
    require_writer(request)
    reg = _registration(activity, rid)
    form = OptionalReasonForm(request.POST)
    try:
        actions.cancel_registration(
            reg, actor=request.user, reason=form.cleaned_data["reason"] if form.is_valid() else ""
        )
    except actions.Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Registration of %(name)s cancelled.") % {"name": reg.person.name})
    return redirect(_tab_url(activity, "registrations"))


@login_required
@require_POST
def registration_leave(request, pk, rid):
    """Decide a pending leave request, or record a leave asked for by phone (approved at once)."""
    activity = _activity(request, pk)
    require_writer(request)
    reg = _registration(activity, rid)
    try:
        if reg.leave_status == LeaveStatus.PENDING:
            form = LeaveDecisionForm(request.POST)
            if not form.is_valid():
                raise ValidationError("请选择批准或不批准")
            approve = form.cleaned_data["decision"] == "approve"
            actions.decide_leave(reg, approve=approve, actor=request.user, note=form.cleaned_data["note"])
            messages.success(request, _("Leave approved.") if approve else _("Leave rejected."))
        else:
            form = ReasonForm(request.POST)
            if not form.is_valid():
                raise ValidationError("请填写请假原因")
            actions.record_leave(reg, reason=form.cleaned_data["reason"], actor=request.user)
            messages.success(request, _("Leave recorded and approved."))
    except actions.Refused as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    return redirect(_tab_url(activity, "registrations") + "&status=" + request.POST.get("back_status", ""))


@login_required
@require_POST
def registration_excuse(request, pk, rid):
    activity = _activity(request, pk)
    require_writer(request)
    reg = _registration(activity, rid)
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("请填写认定为有故缺席的理由")
        actions.excuse_absence(reg, reason=form.cleaned_data["reason"], actor=request.user)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, _("The absence of %(name)s is now excused.") % {"name": reg.person.name})
    return redirect(_tab_url(activity, "registrations"))


@login_required
@require_POST
def registration_check(request, pk, rid):
    """Manual check-in / check-out by staff (with a reason; audit-logged)."""
    activity = _activity(request, pk)
    require_checker(request)
    reg = _registration(activity, rid)
    form = ManualCheckForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_tab_url(activity, "checkin"))
    data = form.cleaned_data
    try:
        result = actions.check_in(
            reg,
            kind=data["kind"],
            method=CheckMethod.MANUAL,
            actor=request.user,
            at=data.get("at"),
            note=data["note"],
        )
    except actions.Refused as exc:
        messages.error(request, exc.message)
    else:
        label = _("checked in") if data["kind"] == "in" else _("checked out")
        messages.success(request, f"{reg.person.name} {label} {timezone.localtime(result.at):%H:%M}")
    return redirect(_tab_url(activity, "checkin"))


@login_required
@require_GET
def registrations_export(request, pk):
    activity = _activity(request, pk)
    unmask = request.GET.get("unmask") == "1" and request.user.can_unmask
    handle = exporting.export_registrations(activity, actor=request.user, unmask=unmask)
    return FileResponse(handle, as_attachment=True, filename=f"{activity.title}-报名名单.xlsx")


# --- Check-in ------------------------------------------------------------------------------------


@login_required
@require_GET
def checkin_screen(request, pk):
    """The rotating check-in code, full screen on the organizer's laptop, tablet or phone."""
    activity = _activity(request, pk)
    require_checker(request)
    kind = "out" if request.GET.get("kind") == "out" else "in"
    return render(
        request,
        "activities/checkin_screen.html",
        {"activity": activity, "kind": kind, **_code_context(request, activity, kind)},
    )


def _code_context(request, activity: Activity, kind: str) -> dict:
    url = qr.checkin_url(request, activity, kind)
    counts = activity.registrations.aggregate(
        expected=Count("pk", filter=Q(status=RegistrationStatus.CONFIRMED)),
        checked_in=Count("pk", filter=Q(checked_in_at__isnull=False)),
        checked_out=Count("pk", filter=Q(checked_out_at__isnull=False)),
    )
    return {
        "qr_data_uri": qr.svg_data_uri(url, scale=10),
        "seconds": tokens.seconds_left(),
        "rotate": tokens.rotate_seconds(),
        "live": counts,
        "recent": CheckIn.objects.filter(activity=activity, kind=kind).select_related("registration__person")[
            :6
        ],
    }


@never_cache
@login_required
@require_GET
def checkin_code(request, pk):
    activity = _activity(request, pk)
    require_checker(request)
    kind = "out" if request.GET.get("kind") == "out" else "in"
    return render(
        request,
        "activities/_checkin_code.html",
        {"activity": activity, "kind": kind, **_code_context(request, activity, kind)},
    )


@login_required
@require_POST
def reset_checkin(request, pk):
    return _post_action(
        request,
        pk,
        lambda a: actions.rotate_checkin_codes(a, actor=request.user),
        _("Every check-in code shown so far is revoked."),
        tab="checkin",
    )


@login_required
@require_POST
def checkout_all(request, pk):
    activity = _activity(request, pk)
    require_checker(request)
    try:
        count = actions.checkout_all(activity, actor=request.user)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, _("%(n)d people checked out at the end of the activity.") % {"n": count})
    return redirect(_tab_url(activity, "checkin"))


@login_required
@require_http_methods(["GET", "POST"])
def scan(request, token):
    """What the participant's QR code opens on the organizer's phone: the person and one button."""
    try:
        pk, nonce = tokens.read_scan(token)
    except tokens.TokenInvalid:
        return render(request, "activities/scan.html", {"error": tokens.TokenInvalid.message}, status=404)
    reg = get_object_or_404(
        Registration.objects.filter(activity__in=Activity.objects.visible_to(request.user)).select_related(
            "activity", "activity__unit", "person", "person__unit"
        ),
        pk=pk,
    )
    if reg.ticket_nonce != nonce:
        return render(request, "activities/scan.html", {"error": tokens.TokenInvalid.message}, status=404)
    result = None
    if request.method == "POST":
        require_checker(request)
        kind = "out" if request.POST.get("kind") == "out" else "in"
        try:
            result = actions.check_in(reg, kind=kind, method=CheckMethod.STAFF_SCAN, actor=request.user)
        except actions.Refused as exc:
            messages.error(request, exc.message)
        reg.refresh_from_db()
    context = {
        "reg": reg,
        "activity": reg.activity,
        "person": reg.person,
        "result": result,
        "can_check": actions.can_check_in(request.user),
        "next_kind": "out" if reg.checked_in_at else "in",
    }
    return render(request, "activities/scan.html", context)


@login_required
@require_GET
def scanner(request):
    return render(request, "activities/scanner.html", {})


# --- Hours ---------------------------------------------------------------------------------------


@login_required
@require_POST
def hours_confirm(request, pk):
    activity = _activity(request, pk)
    require_writer(request)
    posted, notes = {}, {}
    try:
        for key, value in request.POST.items():
            if key.startswith("hours_") and key[6:].isdigit():
                parsed = actions.parse_hours(value)
                if parsed is not None:
                    posted[int(key[6:])] = parsed
            elif key.startswith("note_") and key[5:].isdigit():
                notes[int(key[5:])] = value
        computed = dict(activity.registrations.values_list("pk", "hours_computed"))
        adjustments = {
            rid: h for rid, h in posted.items() if rid in computed and h != (computed[rid] or Decimal(0))
        }
        count = actions.confirm_hours(activity, actor=request.user, adjustments=adjustments, notes=notes)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, _("Volunteer hours of %(n)d people confirmed.") % {"n": count})
    return redirect(_tab_url(activity, "hours"))


def _hours_queryset(request):
    regs = Registration.objects.visible_to(request.user).with_hours()
    unit = _unit_from(request)
    if request.GET.get("unit") and unit is None:
        return regs.none(), None
    if unit is not None:
        regs = regs.filter(person__unit__path__startswith=unit.path)
    for key, lookup in (("from", "activity__starts_at__date__gte"), ("to", "activity__starts_at__date__lte")):
        value = (request.GET.get(key) or "").strip()[:10]
        if value:
            with contextlib.suppress(ValueError):
                regs = regs.filter(**{lookup: timezone.datetime.fromisoformat(value).date()})
    if (activity_id := request.GET.get("activity", "")).isdigit():
        regs = regs.filter(activity_id=int(activity_id))
    return regs, unit


@login_required
@require_GET
def hours(request):
    regs, unit = _hours_queryset(request)
    unit = unit or (request.user.unit if request.user.unit_id else None)
    people = (
        regs.values("person", "person__name", "person__unit__name", "person__phone_masked")
        .annotate(total=Sum("hours"), activities=Count("activity", distinct=True))
        .order_by("-total", "person__name")
    )
    rollup = []
    if unit is not None:
        width = len(unit.path) + OrgUnit.steplen
        rows = (
            regs.filter(person__unit__path__startswith=unit.path)
            .annotate(child=Substr(F("person__unit__path"), 1, width))
            .values("child")
            .annotate(total=Sum("hours"), people=Count("person", distinct=True), n=Count("pk"))
            .order_by()
        )
        by_child = {row["child"]: row for row in rows}
        for child in OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1).order_by(
            "path"
        ):
            row = by_child.get(child.path)
            if row:
                rollup.append((child, row["total"], row["people"], row["n"]))
        own = by_child.get(unit.path)
        if own:
            rollup.append((None, own["total"], own["people"], own["n"]))
    totals = regs.aggregate(total=Sum("hours"), people=Count("person", distinct=True), n=Count("pk"))
    context = {
        "page_obj": paginate(request, people),
        "rollup": rollup,
        "unit": unit,
        "totals": totals,
        "params": {k: request.GET.get(k, "") for k in ("unit", "from", "to", "activity")},
        "can_unmask": request.user.can_unmask,
    }
    return render(request, "activities/hours.html", context)


@login_required
@require_GET
def hours_export(request):
    regs, _unit = _hours_queryset(request)
    unmask = request.GET.get("unmask") == "1" and request.user.can_unmask
    filters = {k: request.GET.get(k)[:32] for k in ("unit", "from", "to", "activity") if request.GET.get(k)}
    handle = exporting.export_hours(regs, actor=request.user, unmask=unmask, filters=filters)
    return FileResponse(handle, as_attachment=True, filename=f"志愿时长-{timezone.localdate():%Y%m%d}.xlsx")


# --- Health and credit ---------------------------------------------------------------------------


@login_required
@require_GET
def health_view(request):
    unit = _unit_from(request) or (request.user.unit if request.user.unit_id else None)
    if unit is None:
        unit = OrgUnit.objects.visible_to(request.user).order_by("depth", "path").first()
    if unit is None:
        return render(request, "activities/health.html", {"unit": None})
    found = health.entities(request.user, unit)
    total, rows = health.rollup(unit, found)
    months = actions.conf.health_months()
    show = request.GET.get("show", "flagged")
    kind = request.GET.get("kind", "")
    listed = [e for e in found if (show == "all" or e.worst is not None) and (not kind or e.kind == kind)]
    listed.sort(key=lambda e: (e.last is not None, e.last or timezone.now(), e.name))
    context = {
        "unit": unit,
        "breadcrumb": unit.breadcrumb(),
        "total": total,
        "rows": rows,
        "months": months,
        "page_obj": paginate(request, listed),
        "show": show,
        "kind": kind,
    }
    return render(request, "activities/health.html", context)


@login_required
@require_GET
def credit_view(request):
    communities = Community.objects.visible_to(request.user)
    proposals = BlacklistProposal.objects.visible_to(request.user).select_related(
        "person", "community", "decided_by"
    )
    blocks = CreditBlock.objects.visible_to(request.user).select_related(
        "person", "community", "trigger", "blocked_activity"
    )
    warnings = (
        CreditRecord.objects.visible_to(request.user)
        .filter(community__in=communities, kind__in=["warning", "blocked"], ref_type="activities.activity")
        .select_related("person", "community")
    )
    context = {
        "pending": proposals.filter(status=ProposalStatus.PENDING),
        "decided": proposals.exclude(status=ProposalStatus.PENDING)[:20],
        "blocks_in_force": blocks.in_force()[:100],
        "page_obj": paginate(request, warnings),
        "decision_form": ProposalDecisionForm(),
        "can_write": request.user.can_write,
    }
    return render(request, "activities/credit.html", context)


@login_required
@require_POST
def proposal_decide(request, pid):
    proposal = get_object_or_404(
        BlacklistProposal.objects.visible_to(request.user).select_related("community", "person"), pk=pid
    )
    require_writer(request)
    form = ProposalDecisionForm(request.POST)
    if form.is_valid():
        try:
            actions.decide_proposal(
                proposal,
                accept=form.cleaned_data["decision"] == "accept",
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            _errors_to_messages(request, exc)
        else:
            messages.success(request, _("Decision recorded."))
    else:
        _form_errors(request, form)
    return redirect("activities:credit")


@login_required
@require_GET
def person_view(request, person_pk):
    person = get_object_or_404(Person.objects.visible_to(request.user).select_related("unit"), pk=person_pk)
    regs = (
        Registration.objects.visible_to(request.user)
        .filter(person=person)
        .select_related("activity")
        .order_by("-activity__starts_at")
    )
    communities = (
        Community.objects.visible_to(request.user)
        .filter(Q(members__person=person) | Q(activities__registrations__person=person))
        .distinct()
    )
    context = {
        "person": person,
        "page_obj": paginate(request, regs),
        "hours_total": regs.with_hours().aggregate(total=Sum("hours"))["total"] or 0,
        "stats": regs.aggregate(
            attended=Count("pk", filter=Q(outcome=Outcome.ATTENDED)),
            absent=Count("pk", filter=Q(outcome=Outcome.ABSENT)),
            excused=Count("pk", filter=Q(outcome=Outcome.EXCUSED)),
            late=Count("pk", filter=Q(late_minutes__gt=0)),
        ),
        "credit": [(c, actions.credit_state(person, c)) for c in communities],
        "records": CreditRecord.objects.visible_to(request.user)
        .filter(person=person)
        .select_related("community")[:50],
    }
    return render(request, "activities/person.html", context)
