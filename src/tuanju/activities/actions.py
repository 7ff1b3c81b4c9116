"""Domain operations of activities: each validates, writes and audit-logs.

Views, the API, the H5 pages, the periodic task and the demo generator call these. Refusals that
a young person sees are ``Refused`` with a Chinese message; staff-side validation problems are
``ValidationError`` (Chinese too).

The credit rule (seed 004, per community; ``Community.absence_limit`` = N, default 3):

* Attendance is *settled* after an activity ends (``settle_attendance``): a confirmed
  participant who checked in attended; one on approved leave (请假, requested before the start)
  is excused; anyone else is an unexcused absence. Each outcome goes on the person's credit
  record.
* The streak is the run of unexcused absences in the community's activities, newest first,
  up to the last attended one; excused leave neither counts nor breaks it. A breach (a
  ``CreditBlock``) resets it, and so does a lifted blacklist entry.
* At N−1 the person gets a warning on their credit record. At N a ``CreditBlock`` is created:
  the community's next activity is closed to them (a registration they already hold for it is
  cancelled and the waitlist moves up); registering for it is refused with the reason and the
  time the restriction ends (that activity's end). After ``ACTIVITY_BLOCKS_BEFORE_BLACKLIST``
  blocks a ``BlacklistProposal`` waits for the community owner's decision.
* Corrections after settlement (a late manual check-in, a leave approved late, an absence
  excused by staff) rewrite the outcome, explain the change on the credit record, and revoke a
  block that no longer holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from tuanju.audit.actions import diff, record
from tuanju.core.crypto import cipher
from tuanju.core.scope import user_sees_unit
from tuanju.groups import actions as groups_actions
from tuanju.groups.models import Community, CommunityMember, CreditKind, CreditRecord, MemberStatus
from tuanju.imports import normalize
from tuanju.people.importing import person_name
from tuanju.people.models import Person, Source

from . import conf
from .models import (
    EXTRA_FIELDS,
    HOURS_TYPES,
    LIVE_STATUSES,
    MAX_QUESTIONS,
    Activity,
    ActivityStatus,
    Audience,
    BlacklistProposal,
    CancelKind,
    CheckIn,
    CheckKind,
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
    new_nonce,
)

OPTIONAL_EXTRA_FIELDS = ("remark",)
MAX_PHOTOS = 60


class Refused(Exception):
    """What a young person (or staff acting for one) is told when the rules say no (Chinese)."""

    def __init__(self, message: str, field: str | None = None, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


def clean_text(value) -> str:
    """Display text as typed (Chinese punctuation kept), with runs of white space collapsed."""
    return " ".join(str(value or "").split())


def _local(dt: datetime) -> datetime:
    return timezone.localtime(dt)


def when(dt: datetime) -> str:
    """'5月24日 19:30' (with the year when it is not this year)."""
    local = _local(dt)
    year = "" if local.year == timezone.localdate().year else f"{local.year}年"
    return f"{year}{local.month}月{local.day}日 {local:%H:%M}"


def day(dt: datetime) -> str:
    local = _local(dt)
    return f"{local.month}月{local.day}日"


# --- Activities ----------------------------------------------------------------------------------

#: Fields staff edit through ``save_activity``.
FIELDS = (
    "title",
    "activity_type",
    "description",
    "place",
    "latitude",
    "longitude",
    "starts_at",
    "ends_at",
    "registration_opens_at",
    "registration_closes_at",
    "cancel_cutoff_hours",
    "capacity",
    "waitlist_enabled",
    "waitlist_limit",
    "audience",
    "audience_unit",
    "requires_resident_id",
    "extra_fields",
    "questions",
    "volunteer_hours",
    "late_after_minutes",
)
ORGANIZER_FIELDS = ("organizer_kind", "unit", "organization", "alliance", "community", "duty_organization")
#: Changing these after attendance was settled would silently change hours and credit.
LOCKED_AFTER_SETTLEMENT = ("starts_at", "ends_at", "volunteer_hours")


def _snapshot(activity: Activity) -> dict:
    data = {}
    for name in FIELDS + ORGANIZER_FIELDS:
        value = getattr(
            activity,
            f"{name}_id"
            if name in ("unit", "audience_unit", "organization", "alliance", "community", "duty_organization")
            else name,
        )
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        data[name] = value
    return data


def _visible(actor, model, obj) -> bool:
    if obj is None:
        return False
    if actor is None or not getattr(actor, "is_authenticated", False):
        return True  # the demo generator and commands act without a staff account
    return model.objects.visible_to(actor).filter(pk=obj.pk).exists()


def duty_society(alliance, starts_at):
    """The council society on duty for the alliance in the month of ``starts_at`` (or None)."""
    from tuanju.organizations.models import DutyAssignment

    month = _local(starts_at).date().replace(day=1)
    duty = (
        DutyAssignment.objects.filter(alliance=alliance, month=month).select_related("organization").first()
    )
    return duty.organization if duty else None


def _apply_organizer(activity: Activity, data: dict, actor, problems: dict) -> None:
    from tuanju.organizations.models import Alliance, AllianceMember, Organization

    kind = data.get("organizer_kind", activity.organizer_kind)
    if kind not in OrganizerKind.values:
        problems["organizer_kind"] = ["请选择组织方类型"]
        return
    activity.organizer_kind = kind
    org, alliance, community = data.get("organization"), data.get("alliance"), data.get("community")
    activity.organization = activity.alliance = activity.community = None
    if kind != OrganizerKind.ALLIANCE:
        activity.duty_organization = None
    if kind == OrganizerKind.UNIT:
        unit = data.get("unit") or (activity.unit if activity.unit_id else None)
        if unit is None:
            problems["unit"] = ["请选择主办团委"]
            return
        if (
            actor is not None
            and getattr(actor, "is_authenticated", False)
            and not user_sees_unit(actor, unit)
        ):
            problems["unit"] = ["该单位不在您的管辖范围内"]
            return
        activity.unit = unit
        activity.organizer_name = f"共青团{unit.name}委员会" if unit.level != "tier3" else unit.name
    elif kind == OrganizerKind.ORGANIZATION:
        if not _visible(actor, Organization, org):
            problems["organization"] = ["请选择您管辖范围内的青年社会组织"]
            return
        activity.organization, activity.unit, activity.organizer_name = org, org.unit, org.name
    elif kind == OrganizerKind.ALLIANCE:
        if not _visible(actor, Alliance, alliance):
            problems["alliance"] = ["请选择您管辖范围内的联盟"]
            return
        activity.alliance, activity.unit, activity.organizer_name = alliance, alliance.unit, alliance.name
        duty = data.get(
            "duty_organization", activity.duty_organization if activity.duty_organization_id else None
        )
        if duty is None and activity.starts_at:
            duty = duty_society(alliance, activity.starts_at)
        if (
            duty is not None
            and not AllianceMember.objects.filter(alliance=alliance, organization=duty).exists()
        ):
            problems["duty_organization"] = [f"“{duty.name}”不是该联盟的成员社团"]
            return
        activity.duty_organization = duty
    else:
        if not _visible(actor, Community, community):
            problems["community"] = ["请选择您管辖范围内的社群"]
            return
        activity.community, activity.unit, activity.organizer_name = community, community.unit, community.name
    activity.organizer_name = activity.organizer_name[:100]


def _clean_lists(activity: Activity, problems: dict) -> None:
    extra = [key for key in dict.fromkeys(activity.extra_fields or []) if key]
    unknown = [key for key in extra if key not in EXTRA_FIELDS]
    if unknown:
        problems["extra_fields"] = [f"未知的报名字段：{'、'.join(unknown)}"]
    activity.extra_fields = [key for key in extra if key in EXTRA_FIELDS]
    questions = [clean_text(q)[:60] for q in activity.questions or []]
    questions = [q for q in dict.fromkeys(questions) if q]
    if len(questions) > MAX_QUESTIONS:
        problems["questions"] = [f"自定义问题最多{MAX_QUESTIONS}个"]
    activity.questions = questions[:MAX_QUESTIONS]


def _validate(activity: Activity, problems: dict, *, before: dict | None) -> None:
    activity.title = clean_text(activity.title)[:100]
    activity.place = clean_text(activity.place)[:200]
    activity.description = (activity.description or "").strip()[:5000]
    if not activity.title:
        problems.setdefault("title", []).append("请填写活动名称")
    if not activity.place:
        problems.setdefault("place", []).append("请填写活动地点")
    if not activity.activity_type:
        problems.setdefault("activity_type", []).append("请选择活动类型")
    if (activity.latitude is None) != (activity.longitude is None):
        problems.setdefault("longitude", []).append("经度和纬度需同时填写")
    elif activity.latitude is not None and not (
        -90 <= activity.latitude <= 90 and -180 <= activity.longitude <= 180
    ):
        problems.setdefault("latitude", []).append("经纬度超出范围")
    starts, ends = activity.starts_at, activity.ends_at
    if not starts or not ends:
        problems.setdefault("starts_at", []).append("请填写开始和结束时间")
        return
    if ends <= starts:
        problems.setdefault("ends_at", []).append("结束时间应晚于开始时间")
    elif ends - starts > timedelta(days=31):
        problems.setdefault("ends_at", []).append("单次活动不能超过31天，长期项目请分次发布")
    opens, closes = activity.registration_opens_at, activity.registration_closes_at
    if opens and closes and closes <= opens:
        problems.setdefault("registration_closes_at", []).append("报名截止时间应晚于报名开始时间")
    if closes and closes > ends:
        problems.setdefault("registration_closes_at", []).append("报名截止时间不能晚于活动结束时间")
    if opens and opens >= ends:
        problems.setdefault("registration_opens_at", []).append("报名开始时间应早于活动结束时间")
    if activity.capacity is not None and activity.capacity < 1:
        problems.setdefault("capacity", []).append("名额至少为1；不限名额请留空")
    if activity.audience == Audience.SUBTREE:
        if activity.audience_unit_id is None:
            activity.audience_unit = activity.unit
        elif activity.unit_id and not activity.audience_unit.path.startswith(activity.unit.path):
            problems.setdefault("audience_unit", []).append("报名范围应在主办单位的辖区内")
    else:
        activity.audience_unit = None
    if activity.pk and before is not None:
        if activity.settled_at:
            for name in LOCKED_AFTER_SETTLEMENT:
                now_value = _snapshot(activity)[name]
                if before.get(name) != now_value:
                    problems.setdefault(name, []).append("考勤已结算，不能再修改活动时间和志愿时长设置")
        if activity.capacity is not None:
            taken = activity.registrations.confirmed().count()
            if activity.capacity < taken:
                problems.setdefault("capacity", []).append(f"已有{taken}人获得名额，名额不能少于{taken}")


@transaction.atomic
def save_activity(activity: Activity, *, data: dict, actor=None) -> Activity:
    """Create (as a draft) or update an activity. Organizer fields can change only while a draft."""
    creating = activity.pk is None
    before = None if creating else _snapshot(activity)
    problems: dict[str, list[str]] = {}
    for key, value in data.items():
        if key in ORGANIZER_FIELDS:
            continue
        if key not in FIELDS:
            raise ValueError(f"not editable: {key}")
        setattr(activity, key, value)
    if creating and "volunteer_hours" not in data:
        activity.volunteer_hours = activity.activity_type in HOURS_TYPES
    organizer_given = any(key in data for key in ORGANIZER_FIELDS)
    if creating or (organizer_given and activity.status == ActivityStatus.DRAFT):
        _apply_organizer(activity, data, actor, problems)
    elif organizer_given and _organizer_changed(activity, data):
        problems["organizer_kind"] = ["活动发布后不能更换组织方"]
    elif activity.organizer_kind == OrganizerKind.ALLIANCE and "duty_organization" in data:
        _apply_organizer(activity, {**data, "alliance": activity.alliance}, actor, problems)
    _clean_lists(activity, problems)
    _validate(activity, problems, before=before)
    if problems:
        raise ValidationError(problems)
    if creating:
        activity.created_by = actor if getattr(actor, "is_authenticated", False) else None
    activity.save()
    if creating:
        record(
            actor, "create", activity, details={"organizer": activity.organizer_name, "title": activity.title}
        )
    else:
        changes = diff(before, _snapshot(activity))
        record(actor, "update", activity, details={"changes": changes})
        if "capacity" in changes or "waitlist_enabled" in changes:
            promote_waitlist(activity, actor=actor)
    return activity


def _organizer_changed(activity: Activity, data: dict) -> bool:
    current = {
        "organizer_kind": activity.organizer_kind,
        "organization": activity.organization_id,
        "alliance": activity.alliance_id,
        "community": activity.community_id,
    }
    for key, value in current.items():
        if key not in data:
            continue
        given = data[key]
        given = getattr(given, "pk", given)
        if given != value:
            return True
    return False


@transaction.atomic
def publish(activity: Activity, *, actor=None) -> Activity:
    if activity.status == ActivityStatus.CANCELLED:
        raise ValidationError("已取消的活动不能再发布")
    if activity.status == ActivityStatus.PUBLISHED:
        return activity
    if activity.ends_at <= timezone.now():
        raise ValidationError("活动结束时间已过，不能发布")
    activity.status, activity.published_at = ActivityStatus.PUBLISHED, timezone.now()
    activity.save(update_fields=["status", "published_at", "updated_at"])
    record(actor, "update", activity, details={"status": "published"})
    return activity


@transaction.atomic
def cancel_activity(activity: Activity, *, reason: str, actor=None) -> int:
    """Cancel the activity and every registration (no one's credit is touched). Returns the count."""
    reason = normalize.text(reason)[:200]
    if not reason:
        raise ValidationError({"reason": ["请填写取消原因，报名者会看到"]})
    if activity.status == ActivityStatus.CANCELLED:
        raise ValidationError("活动已取消")
    if activity.settled_at:
        raise ValidationError("考勤已结算的活动不能取消")
    now = timezone.now()
    activity.status, activity.cancelled_at, activity.cancel_reason = ActivityStatus.CANCELLED, now, reason
    activity.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    count = activity.registrations.filter(status__in=[*LIVE_STATUSES, RegistrationStatus.ON_LEAVE]).update(
        status=RegistrationStatus.CANCELLED,
        cancelled_at=now,
        cancel_kind=CancelKind.ACTIVITY,
        cancel_reason=f"活动已取消：{reason}"[:300],
        cancelled_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record(
        actor, "update", activity, details={"status": "cancelled", "reason": reason, "registrations": count}
    )
    return count


@transaction.atomic
def delete_draft(activity: Activity, *, actor=None) -> None:
    if activity.status != ActivityStatus.DRAFT or activity.registrations.exists():
        raise ValidationError("只能删除没有报名的草稿；已发布的活动请取消")
    record(actor, "delete", activity, details={"title": activity.title})
    activity.delete()


@transaction.atomic
def rotate_links(activity: Activity, *, actor=None) -> Activity:
    """Revoke every registration link and QR code issued so far."""
    activity.link_nonce = new_nonce()
    activity.save(update_fields=["link_nonce", "updated_at"])
    record(actor, "update", activity, details={"links": "reset"})
    return activity


@transaction.atomic
def rotate_checkin_codes(activity: Activity, *, actor=None) -> Activity:
    activity.checkin_nonce = new_nonce()
    activity.save(update_fields=["checkin_nonce", "updated_at"])
    record(actor, "update", activity, details={"checkin_codes": "reset"})
    return activity


@transaction.atomic
def save_summary(activity: Activity, *, text: str, actor=None) -> Activity:
    if timezone.now() < activity.starts_at:
        raise ValidationError("活动开始后才能填写活动总结")
    text = (text or "").strip()
    if len(text) > 10_000:
        raise ValidationError({"summary": ["活动总结不能超过一万字"]})
    activity.summary, activity.summary_updated_at = text, timezone.now()
    activity.save(update_fields=["summary", "summary_updated_at", "updated_at"])
    record(actor, "update", activity, details={"summary": len(text)})
    return activity


def add_photo(activity: Activity, uploaded, *, caption: str = "", actor=None) -> Photo:
    from .photos import clean_photo

    if activity.photos.count() >= MAX_PHOTOS:
        raise ValidationError(f"每个活动最多上传{MAX_PHOTOS}张照片")
    content = clean_photo(uploaded)
    with transaction.atomic():
        photo = Photo(
            activity=activity,
            caption=clean_text(caption)[:100],
            width=content.width,
            height=content.height,
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        photo.image.save(f"a{activity.pk}.jpg", content, save=False)
        photo.save()
        record(actor, "create", photo, unit=activity.unit, details={"activity": activity.pk})
    return photo


@transaction.atomic
def delete_photo(photo: Photo, *, actor=None) -> None:
    activity = photo.activity
    record(actor, "delete", photo, unit=activity.unit, details={"activity": activity.pk})
    storage, name = photo.image.storage, photo.image.name
    photo.delete()
    transaction.on_commit(lambda: storage.delete(name))


# --- Who may register ----------------------------------------------------------------------------


def audience_label(activity: Activity) -> str:
    if activity.audience == Audience.OPEN:
        return "所有青年"
    if activity.audience == Audience.SUBTREE:
        unit = activity.audience_unit or activity.unit
        return f"{unit.name}辖区内的青年"
    return f"「{activity.organizer_name}」的成员"


def audience_allows(activity: Activity, person: Person) -> bool:
    if activity.audience == Audience.OPEN:
        return True
    if activity.audience == Audience.SUBTREE:
        unit = activity.audience_unit or activity.unit
        return person.unit.path.startswith(unit.path)
    kind = activity.organizer_kind
    if kind == OrganizerKind.COMMUNITY:
        return CommunityMember.objects.filter(
            community_id=activity.community_id, person=person, status=MemberStatus.ACTIVE
        ).exists()
    if kind == OrganizerKind.ORGANIZATION:
        from tuanju.organizations.models import Membership

        return Membership.objects.filter(
            organization_id=activity.organization_id, person=person, left_on__isnull=True
        ).exists()
    if kind == OrganizerKind.ALLIANCE:
        from tuanju.organizations.models import AllianceMember, Membership

        societies = AllianceMember.objects.filter(alliance_id=activity.alliance_id).values("organization_id")
        return Membership.objects.filter(
            organization__in=societies, person=person, left_on__isnull=True
        ).exists()
    return person.unit.path.startswith(activity.unit.path)


# --- The credit rule -----------------------------------------------------------------------------


def absence_limit(community: Community | None) -> int:
    return int(community.absence_limit or 0) if community is not None else 0


def _streak_start(person: Person, community: Community):
    """Absences before this moment no longer count: the last breach, or a lifted blacklist entry."""
    block = (
        CreditBlock.objects.filter(person=person, community=community, revoked_at__isnull=True)
        .order_by("-trigger_starts_at")
        .values_list("trigger_starts_at", flat=True)
        .first()
    )
    lifted = (
        CreditRecord.objects.filter(person=person, community=community, kind=CreditKind.LIFTED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    marks = [m for m in (block, lifted) if m is not None]
    return max(marks) if marks else None


def absence_streak(person: Person, community: Community) -> list[Registration]:
    """The current run of unexcused absences in the community's activities, newest first."""
    regs = (
        Registration.objects.filter(
            person=person, activity__community=community, outcome__in=[Outcome.ATTENDED, Outcome.ABSENT]
        )
        .select_related("activity")
        .order_by("-activity__starts_at", "-pk")
    )
    since = _streak_start(person, community)
    if since is not None:
        regs = regs.filter(activity__starts_at__gt=since)
    streak = []
    for reg in regs[:200]:
        if reg.outcome == Outcome.ATTENDED:
            break
        streak.append(reg)
    return streak


def next_activity(community: Community, after) -> Activity | None:
    """The community's first published activity that starts after ``after``."""
    return (
        Activity.objects.published()
        .filter(community=community, starts_at__gt=after)
        .order_by("starts_at", "pk")
        .first()
    )


@dataclass
class CreditRefusal:
    block: CreditBlock
    activity: Activity
    until: datetime
    message: str


def _absence_dates(block: CreditBlock) -> str:
    starts = dict(Activity.objects.filter(pk__in=block.absences).values_list("pk", "starts_at"))
    dates = [day(starts[pk]) for pk in block.absences if pk in starts]
    return "、".join(dates)


def block_message(block: CreditBlock, activity: Activity) -> str:
    community = block.community
    return (
        f"你最近连续{len(block.absences)}次报名「{community.name}」的活动后未到场且未请假"
        f"（{_absence_dates(block)}）。按社群公约，暂停报名本社群的下一次活动「{activity.title}」，"
        f"限制至{when(activity.ends_at)}该活动结束为止，之后即可正常报名。如有异议，请联系群主。"
    )


def credit_refusal(person: Person, activity: Activity, *, now=None) -> CreditRefusal | None:
    """Why ``person`` may not register for ``activity`` under its community's credit rule, or None.

    Marks blocks whose blocked activity is over as served (the restriction is over).
    """
    community = activity.community
    if community is None or activity.organizer_kind != OrganizerKind.COMMUNITY:
        return None
    now = now or timezone.now()
    for block in (
        CreditBlock.objects.in_force().filter(person=person, community=community).order_by("created_at")
    ):
        blocked = block.blocked_activity or next_activity(community, block.trigger_starts_at)
        if blocked is None:
            continue
        if blocked.ends_at <= now:
            CreditBlock.objects.filter(pk=block.pk).update(
                served_at=blocked.ends_at, blocked_activity=blocked
            )
            continue
        if blocked.pk == activity.pk:
            block.community = community
            return CreditRefusal(block, blocked, blocked.ends_at, block_message(block, blocked))
    return None


def _credit(person, activity: Activity, *, kind: str, reason: str, actor=None, at=None, points=None):
    return groups_actions.record_credit(
        person,
        kind=kind,
        community=activity.community if activity.organizer_kind == OrganizerKind.COMMUNITY else None,
        unit=activity.unit,
        reason=reason,
        points=points,
        ref=activity,
        actor=actor,
        at=at,
    )


def _evaluate_absence(reg: Registration, *, actor=None) -> str | None:
    """After an unexcused absence in a community activity: warn at N−1, block at N. Returns
    "warning", "block" or None."""
    activity = reg.activity
    community = activity.community
    limit = absence_limit(community)
    if not limit:
        return None
    streak = absence_streak(reg.person, community)
    count = len(streak)
    if count >= limit:
        return "block" if _create_block(reg.person, community, streak[:limit], limit, actor=actor) else None
    if limit > 1 and count == limit - 1 and streak and streak[0].pk == reg.pk:
        _credit(
            reg.person,
            activity,
            kind=CreditKind.WARNING,
            points=0,
            at=activity.ends_at,
            reason=f"已连续{count}次报名后无故缺席，再无故缺席1次将暂停报名本社群的下一次活动",
            actor=actor,
        )
        return "warning"
    return None


def _create_block(
    person: Person, community: Community, streak: list[Registration], limit: int, *, actor=None
):
    trigger = streak[0].activity
    absences = [reg.activity_id for reg in reversed(streak)]
    try:
        with transaction.atomic():
            block = CreditBlock.objects.create(
                community=community,
                person=person,
                trigger=trigger,
                trigger_starts_at=trigger.starts_at,
                absences=absences,
                limit=limit,
            )
    except IntegrityError:
        return None  # this breach is already recorded
    blocked = next_activity(community, trigger.starts_at)
    target = (
        f"下一次活动「{blocked.title}」（{when(blocked.starts_at)}）" if blocked else "本社群的下一次活动"
    )
    dates = "、".join(day(reg.activity.starts_at) for reg in reversed(streak))
    _credit(
        person,
        trigger,
        kind=CreditKind.BLOCKED,
        at=trigger.ends_at,
        actor=actor,
        reason=f"连续{limit}次报名后无故缺席（{dates}），按社群公约暂停报名{target}",
    )
    record(
        actor, "credit_block", block, unit=community.unit, details={"person": person.pk, "absences": absences}
    )
    if blocked is not None and timezone.now() < blocked.starts_at:
        held = Registration.objects.filter(
            activity=blocked, person=person, status__in=[*LIVE_STATUSES, RegistrationStatus.ON_LEAVE]
        ).first()
        if held is not None:
            cancel_registration(
                held,
                kind=CancelKind.CREDIT,
                actor=actor,
                reason=f"连续{limit}次无故缺席，按社群公约暂停报名本次活动",
            )
    _maybe_propose_blacklist(person, community, actor=actor)
    return block


def _maybe_propose_blacklist(person: Person, community: Community, *, actor=None) -> BlacklistProposal | None:
    threshold = int(conf.get("ACTIVITY_BLOCKS_BEFORE_BLACKLIST"))
    if threshold <= 0 or groups_actions.is_blacklisted(community, person):
        return None
    blocks = CreditBlock.objects.filter(person=person, community=community, revoked_at__isnull=True)
    lifted = (
        CreditRecord.objects.filter(person=person, community=community, kind=CreditKind.LIFTED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if lifted is not None:
        blocks = blocks.filter(created_at__gt=lifted)
    count = blocks.count()
    if count < threshold:
        return None
    decided = BlacklistProposal.objects.filter(community=community, person=person).exclude(
        status=ProposalStatus.PENDING
    )
    last_decision = decided.order_by("-decided_at").values_list("blocks", flat=True).first()
    if last_decision is not None and count < last_decision + threshold:
        return None  # dismissed before: propose again only after as many new blocks
    if BlacklistProposal.objects.filter(
        community=community, person=person, status=ProposalStatus.PENDING
    ).exists():
        return None
    reason = f"累计{count}次因连续无故缺席被暂停报名，按社群公约提请群主决定是否列入黑名单"
    proposal = BlacklistProposal.objects.create(
        community=community, person=person, blocks=count, reason=reason
    )
    groups_actions.record_credit(
        person, kind=CreditKind.NOTE, community=community, reason=reason, ref=proposal
    )
    record(
        actor,
        "propose_blacklist",
        proposal,
        unit=community.unit,
        details={"person": person.pk, "blocks": count},
    )
    return proposal


@transaction.atomic
def decide_proposal(proposal: BlacklistProposal, *, accept: bool, actor, note: str = "") -> BlacklistProposal:
    """The community owner's decision (staff record it): blacklist, or dismiss with a reason."""
    if proposal.status != ProposalStatus.PENDING:
        raise ValidationError("该提议已处理")
    note = normalize.text(note)[:200]
    community, person = proposal.community, proposal.person
    if accept:
        if not groups_actions.is_blacklisted(community, person):
            groups_actions.blacklist(
                community, person, reason=(proposal.reason + (f"；{note}" if note else ""))[:300], actor=actor
            )
        proposal.status = ProposalStatus.ACCEPTED
    else:
        if not note:
            raise ValidationError({"note": ["不列入黑名单时请写明理由"]})
        proposal.status = ProposalStatus.DISMISSED
        groups_actions.record_credit(
            person,
            kind=CreditKind.NOTE,
            community=community,
            reason=f"群主决定暂不列入黑名单：{note}",
            ref=proposal,
            actor=actor,
        )
    proposal.decided_at, proposal.decided_by, proposal.decision_note = timezone.now(), actor, note
    proposal.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    record(
        actor, "update", proposal, unit=community.unit, details={"decision": proposal.status, "note": note}
    )
    return proposal


def _revoke_stale_blocks(reg: Registration, *, actor=None) -> int:
    """After a correction: blocks (not yet served) that counted this absence are revoked, then the
    streak is evaluated again (another breach may still stand without it)."""
    community = reg.activity.community
    if community is None:
        return 0
    now = timezone.now()
    revoked = 0
    for block in CreditBlock.objects.in_force().filter(person=reg.person, community=community):
        if reg.activity_id not in block.absences:
            continue
        block.revoked_at, block.revoke_reason = now, f"「{reg.activity.title}」的考勤已更正"
        block.save(update_fields=["revoked_at", "revoke_reason"])
        _credit(
            reg.person,
            block.trigger,
            kind=CreditKind.NOTE,
            actor=actor,
            reason=f"考勤更正后撤销暂停报名（原因：{block.revoke_reason}）",
        )
        record(actor, "update", block, unit=community.unit, details={"revoked": block.revoke_reason})
        revoked += 1
    if revoked:
        streak = absence_streak(reg.person, community)
        limit = absence_limit(community)
        if limit and len(streak) >= limit:
            _create_block(reg.person, community, streak[:limit], limit, actor=actor)
    return revoked


def credit_state(person: Person, community: Community, *, now=None) -> dict:
    """For staff pages: streak, limit, blocks in force (with the activity each closes) and proposals."""
    now = now or timezone.now()
    streak = absence_streak(person, community)
    blocks = []
    for block in CreditBlock.objects.in_force().filter(person=person, community=community):
        blocked = block.blocked_activity or next_activity(community, block.trigger_starts_at)
        if blocked is not None and blocked.ends_at <= now:
            CreditBlock.objects.filter(pk=block.pk).update(
                served_at=blocked.ends_at, blocked_activity=blocked
            )
            continue
        blocks.append((block, blocked))
    return {
        "streak": streak,
        "count": len(streak),
        "limit": absence_limit(community),
        "blocks": blocks,
        "total_blocks": CreditBlock.objects.filter(
            person=person, community=community, revoked_at__isnull=True
        ).count(),
        "proposals": list(BlacklistProposal.objects.filter(person=person, community=community)),
    }


# --- Registration --------------------------------------------------------------------------------


@dataclass
class RegisterResult:
    registration: Registration
    outcome: str  # confirmed | waitlisted | already
    new_person: bool = False
    position: int | None = None


def parse_fields(activity: Activity, *, name: str, phone: str, resident_id: str) -> dict:
    """The H5 form's identity fields, checked with the roster's own rules."""
    try:
        name = person_name(name)
    except normalize.CellError as exc:
        raise Refused(str(exc), "name") from exc
    if not name:
        raise Refused("请填写姓名", "name")
    if len(name) > 50:
        raise Refused("姓名过长", "name")
    try:
        phone = normalize.phone(phone)
    except normalize.CellError as exc:
        raise Refused(str(exc), "phone") from exc
    if not phone:
        raise Refused("请填写手机号", "phone")
    try:
        resident_id = normalize.resident_id(resident_id)
    except normalize.CellError as exc:
        raise Refused(str(exc), "resident_id") from exc
    if activity.requires_resident_id and not resident_id:
        raise Refused("本活动实名报名，请填写身份证号", "resident_id")
    return {"name": name, "phone": phone, "resident_id": resident_id}


def clean_answers(activity: Activity, answers: dict | None) -> dict:
    answers = answers or {}
    cleaned = {}
    for key, label in activity.extra_field_labels():
        value = clean_text(answers.get(key, ""))[:200]
        if not value and key not in OPTIONAL_EXTRA_FIELDS:
            raise Refused(f"请填写{label}", key)
        if value:
            cleaned[key] = value
    for index, question in enumerate(activity.questions or []):
        key = f"q{index + 1}"
        value = clean_text(answers.get(key, ""))[:300]
        if not value:
            raise Refused(f"请回答：{question}", key)
        cleaned[key] = value
    return cleaned


def match_person(name: str, phone: str, resident_id: str = "") -> Person | None:
    """The roster person these details name, by blind index (the ID first, else phone and name)."""
    c = cipher()
    if resident_id:
        person = (
            Person.objects.select_related("unit").filter(resident_id_bidx=c.blind_index(resident_id)).first()
        )
        if person is not None and person.name != name:
            raise Refused("姓名与身份证号不一致，请核对后重新填写", "name")
        return person
    return (
        Person.objects.select_related("unit")
        .filter(phone_bidx=c.blind_index(phone), name=name)
        .order_by("pk")
        .first()
    )


def _match_or_register(activity: Activity, fields: dict) -> tuple[Person, bool]:
    person = match_person(fields["name"], fields["phone"], fields["resident_id"])
    if person is not None:
        if not person.phone_bidx:
            person.set_phone(fields["phone"])
            person.save(
                update_fields=["phone_enc", "phone_bidx", "phone_masked", "phone_last4", "updated_at"]
            )
        return person, False
    if activity.audience != Audience.OPEN:
        raise Refused(
            f"本活动仅限{audience_label(activity)}报名，名单中没有找到你的信息。"
            "请核对姓名和手机号（与登记时一致），或联系活动组织方。",
            "phone",
            code="audience",
        )
    from tuanju.core import idcard
    from tuanju.people import actions as people_actions

    number = fields["resident_id"]
    # Source "community": the roster's closest provenance for someone who signed up online.
    data = {"unit": activity.unit, "name": fields["name"], "source": Source.COMMUNITY}
    if number:
        data.update(birth_date=idcard.birth_date(number), gender=idcard.gender(number))
    try:
        with transaction.atomic():
            person = people_actions.save_person(
                Person(), data=data, resident_id=number or None, phone=fields["phone"], actor=None
            )
    except (IntegrityError, ValidationError):
        person = match_person(fields["name"], fields["phone"], number)
        if person is None:
            raise
        return person, False
    return person, True


def _log_refusal(person: Person, activity: Activity, message: str, code: str) -> None:
    """A refused registration is explained on the credit record once per activity, and audited."""
    record(None, "registration_refused", activity, details={"person": person.pk, "code": code})
    if code not in ("credit", "blacklist"):
        return
    already = CreditRecord.objects.filter(
        person=person, kind=CreditKind.NOTE, ref_type=activity._meta.label_lower, ref_id=activity.pk
    ).exists()
    if not already:
        _credit(person, activity, kind=CreditKind.NOTE, reason=f"报名「{activity.title}」被拒绝：{message}")


def waitlist_position(reg: Registration) -> int | None:
    if reg.status != RegistrationStatus.WAITLISTED:
        return None
    ahead = Registration.objects.filter(
        activity_id=reg.activity_id, status=RegistrationStatus.WAITLISTED
    ).filter(Q(registered_at__lt=reg.registered_at) | Q(registered_at=reg.registered_at, pk__lt=reg.pk))
    return ahead.count() + 1


def register(
    activity: Activity,
    *,
    person: Person | None = None,
    name: str = "",
    phone: str = "",
    resident_id: str = "",
    answers: dict | None = None,
    source: str = RegistrationSource.LINK,
    actor=None,
    now=None,
) -> RegisterResult:
    """Register a young person: from the H5 page (``name``/``phone``/``resident_id``, matched to
    the roster by blind index) or by staff on someone's behalf (``person``).

    Refuses, with the reason: outside the registration window, outside the audience, on the
    community's blacklist, blocked by the credit rule, full without a waitlist. A place is given
    while one is free; otherwise the person joins the waitlist.
    """
    now = now or timezone.now()
    on_behalf = person is not None
    if activity.status != ActivityStatus.PUBLISHED:
        raise Refused("活动尚未发布或已取消", code="status")
    phase = activity.phase(now)
    if phase == "ended":
        raise Refused("活动已结束", code="window")
    if not on_behalf:
        if phase == "upcoming":
            raise Refused(f"报名将于{when(activity.opens_at)}开始，请届时再来", code="window")
        if phase in ("closed", "ongoing"):
            raise Refused("报名已截止", code="window")
    answers = clean_answers(activity, answers)
    new_person = False
    if not on_behalf:
        fields = parse_fields(activity, name=name, phone=phone, resident_id=resident_id)
        with transaction.atomic():
            person, new_person = _match_or_register(activity, fields)
    elif (
        actor is not None
        and getattr(actor, "is_authenticated", False)
        and not Person.objects.visible_to(actor).filter(pk=person.pk).exists()
    ):
        raise Refused("该青年不在您的管辖范围内", code="scope")
    if not audience_allows(activity, person):
        message = f"本活动仅限{audience_label(activity)}报名。"
        _log_refusal(person, activity, message, "audience")
        raise Refused(message, code="audience")
    community = activity.community if activity.organizer_kind == OrganizerKind.COMMUNITY else None
    if community is not None:
        if activity.settled_at is None:
            settle_due(community=community, now=now)
        if groups_actions.is_blacklisted(community, person):
            message = f"你已被列入「{community.name}」的黑名单，不能报名本社群的活动。如有疑问，请联系群主。"
            _log_refusal(person, activity, message, "blacklist")
            raise Refused(message, code="blacklist")
        refusal = credit_refusal(person, activity, now=now)
        if refusal is not None:
            _log_refusal(person, activity, refusal.message, "credit")
            raise Refused(refusal.message, code="credit")
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        reg = Registration.objects.select_for_update().filter(activity=locked, person=person).first()
        if reg is not None and reg.status != RegistrationStatus.CANCELLED:
            return RegisterResult(reg, "already", new_person, waitlist_position(reg))
        confirmed = locked.registrations.confirmed().count()
        if locked.capacity is None or confirmed < locked.capacity:
            status = RegistrationStatus.CONFIRMED
        elif locked.waitlist_enabled and (
            locked.waitlist_limit is None or locked.registrations.waitlisted().count() < locked.waitlist_limit
        ):
            status = RegistrationStatus.WAITLISTED
        else:
            raise Refused("名额已满，感谢关注", code="full")
        reg = reg or Registration(activity=locked, person=person)
        reg.status, reg.source, reg.answers, reg.registered_at = status, source, answers, now
        reg.confirmed_at = now if status == RegistrationStatus.CONFIRMED else None
        reg.waitlisted_at = now if status == RegistrationStatus.WAITLISTED else None
        reg.promoted_at = reg.cancelled_at = None
        reg.cancel_kind = reg.cancel_reason = ""
        reg.cancelled_by = None
        reg.leave_status, reg.leave_reason, reg.leave_requested_at = "", "", None
        reg.leave_decided_at, reg.leave_decided_by, reg.leave_note = None, None, ""
        reg.created_by = actor if on_behalf and getattr(actor, "is_authenticated", False) else None
        reg.save()
        record(
            actor if on_behalf else None,
            "register",
            reg,
            unit=activity.unit,
            details={"activity": activity.pk, "person": person.pk, "status": status, "source": source},
        )
    return RegisterResult(reg, status, new_person, waitlist_position(reg))


def promote_waitlist(activity: Activity, *, actor=None, now=None) -> list[Registration]:
    """Give freed places to the waitlist, first come first served (only before the start)."""
    now = now or timezone.now()
    if activity.status != ActivityStatus.PUBLISHED or now >= activity.starts_at:
        return []
    promoted = []
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        free = None if locked.capacity is None else locked.capacity - locked.registrations.confirmed().count()
        if free is not None and free <= 0:
            return []
        waiting = locked.registrations.waitlisted().order_by("registered_at", "pk")
        if free is not None:
            waiting = waiting[:free]
        for reg in waiting:
            reg.status, reg.promoted_at, reg.confirmed_at = RegistrationStatus.CONFIRMED, now, now
            reg.save(update_fields=["status", "promoted_at", "confirmed_at"])
            record(
                actor,
                "promote",
                reg,
                unit=locked.unit,
                details={"activity": locked.pk, "person": reg.person_id},
            )
            promoted.append(reg)
    return promoted


def cancel_registration(
    reg: Registration,
    *,
    actor=None,
    by_participant: bool = False,
    reason: str = "",
    kind: str | None = None,
    now=None,
) -> Registration:
    """Cancel a registration: the participant online until the cut-off, staff until the start,
    the credit rule at any time before the start. A freed place goes to the waitlist."""
    now = now or timezone.now()
    activity = reg.activity
    if reg.status == RegistrationStatus.CANCELLED:
        raise Refused("该报名已取消", code="cancelled")
    if now >= activity.starts_at:
        raise Refused("活动已开始，不能再取消报名", code="started")
    if by_participant and now >= activity.cancel_deadline:
        raise Refused(
            f"已过网上取消截止时间（{when(activity.cancel_deadline)}）。"
            "如确实无法参加，请在活动开始前申请请假，以免计为无故缺席。",
            code="cutoff",
        )
    kind = kind or (CancelKind.SELF if by_participant else CancelKind.STAFF)
    with transaction.atomic():
        was = reg.status
        reg.status, reg.cancelled_at, reg.cancel_kind = RegistrationStatus.CANCELLED, now, kind
        reg.cancel_reason = normalize.text(reason)[:300]
        reg.cancelled_by = actor if getattr(actor, "is_authenticated", False) else None
        reg.save(update_fields=["status", "cancelled_at", "cancel_kind", "cancel_reason", "cancelled_by"])
        record(
            actor,
            "cancel_registration",
            reg,
            unit=activity.unit,
            details={"activity": activity.pk, "person": reg.person_id, "was": was, "kind": kind},
        )
        if kind == CancelKind.CREDIT:
            _credit(
                reg.person,
                activity,
                kind=CreditKind.NOTE,
                reason=f"报名「{activity.title}」被取消：{reg.cancel_reason}",
            )
    if was == RegistrationStatus.CONFIRMED:
        promote_waitlist(activity, actor=actor, now=now)
    return reg


# --- Leave (请假) --------------------------------------------------------------------------------


def request_leave(reg: Registration, *, reason: str, actor=None, now=None) -> Registration:
    """The participant asks for leave (before the start); the organizer approves or rejects it."""
    now = now or timezone.now()
    activity = reg.activity
    reason = normalize.text(reason)[:200]
    if not reason:
        raise Refused("请填写请假原因", "reason")
    if reg.status == RegistrationStatus.WAITLISTED:
        raise Refused("候补中的报名不需要请假，直接取消即可", code="waitlisted")
    if reg.status != RegistrationStatus.CONFIRMED:
        raise Refused("该报名不能请假", code="status")
    if now >= activity.starts_at:
        raise Refused("活动已开始，不能再请假；未到场将计为无故缺席", code="started")
    if reg.leave_status == LeaveStatus.PENDING:
        return reg
    with transaction.atomic():
        reg.leave_status, reg.leave_reason, reg.leave_requested_at = LeaveStatus.PENDING, reason, now
        reg.leave_decided_at, reg.leave_decided_by, reg.leave_note = None, None, ""
        reg.save(
            update_fields=[
                "leave_status",
                "leave_reason",
                "leave_requested_at",
                "leave_decided_at",
                "leave_decided_by",
                "leave_note",
            ]
        )
        record(
            actor,
            "request_leave",
            reg,
            unit=activity.unit,
            details={"activity": activity.pk, "reason": reason},
        )
    return reg


def decide_leave(reg: Registration, *, approve: bool, actor, note: str = "", now=None) -> Registration:
    """Approve or reject a leave request. Approved before the start, the place goes to the waitlist;
    approved after the attendance was settled, the absence becomes excused."""
    now = now or timezone.now()
    activity = reg.activity
    if reg.leave_status != LeaveStatus.PENDING:
        raise ValidationError("没有待审批的请假")
    note = normalize.text(note)[:200]
    with transaction.atomic():
        reg.leave_status = LeaveStatus.APPROVED if approve else LeaveStatus.REJECTED
        reg.leave_decided_at, reg.leave_decided_by, reg.leave_note = now, actor, note
        fields = ["leave_status", "leave_decided_at", "leave_decided_by", "leave_note"]
        if approve and reg.status == RegistrationStatus.CONFIRMED and not reg.checked_in_at:
            reg.status = RegistrationStatus.ON_LEAVE
            fields.append("status")
        reg.save(update_fields=fields)
        record(actor, "decide_leave", reg, unit=activity.unit, details={"approved": approve, "note": note})
        if approve and reg.outcome == Outcome.ABSENT:
            _correct_outcome(reg, Outcome.EXCUSED, actor=actor, reason=f"请假（{reg.leave_reason}）已批准")
    if approve and reg.status == RegistrationStatus.ON_LEAVE:
        promote_waitlist(activity, actor=actor, now=now)
    return reg


def record_leave(reg: Registration, *, reason: str, actor, now=None) -> Registration:
    """Staff record (and approve) a leave the participant asked for by phone, before the start."""
    request_leave(reg, reason=reason, actor=actor, now=now)
    return decide_leave(reg, approve=True, actor=actor, note="工作人员代为登记", now=now)


@transaction.atomic
def excuse_absence(reg: Registration, *, reason: str, actor) -> Registration:
    """Staff turn a settled unexcused absence into an excused one (illness, an emergency…)."""
    reason = normalize.text(reason)[:200]
    if not reason:
        raise ValidationError({"reason": ["请填写认定为有故缺席的理由"]})
    if reg.outcome != Outcome.ABSENT:
        raise ValidationError("只有已结算为无故缺席的报名可以更正为请假")
    _correct_outcome(reg, Outcome.EXCUSED, actor=actor, reason=f"工作人员认定为有故缺席：{reason}")
    return reg


CREDIT_KIND = {
    Outcome.ATTENDED: CreditKind.ATTENDED,
    Outcome.ABSENT: CreditKind.ABSENT,
    Outcome.EXCUSED: CreditKind.EXCUSED,
}
OUTCOME_LABEL = {
    Outcome.ATTENDED: "到场参加",
    Outcome.ABSENT: "无故缺席",
    Outcome.EXCUSED: "请假（不计缺席）",
}


def _correct_outcome(reg: Registration, outcome: str, *, actor, reason: str) -> None:
    """Rewrite a settled outcome: the earlier credit entry is kept but turned into a note that says
    it was corrected (so counters that read the record stay right), the new one is added at the
    activity's time, and blocks that relied on the old absence are revoked."""
    old = reg.outcome
    if old == outcome:
        return
    activity = reg.activity
    reg.outcome, reg.outcome_note = outcome, reason[:300]
    reg.save(update_fields=["outcome", "outcome_note"])
    ref_type = activity._meta.label_lower
    for entry in CreditRecord.objects.filter(
        person=reg.person, ref_type=ref_type, ref_id=activity.pk, kind=CREDIT_KIND.get(old, "")
    ):
        entry.kind, entry.points = CreditKind.NOTE, 0
        entry.reason = f"（已更正为{OUTCOME_LABEL[outcome]}）{entry.reason}"[:300]
        entry.save(update_fields=["kind", "points", "reason"])
    _credit(
        reg.person,
        activity,
        kind=CREDIT_KIND[outcome],
        at=activity.ends_at,
        actor=actor,
        reason=f"「{activity.title}」考勤更正为{OUTCOME_LABEL[outcome]}：{reason}",
    )
    record(
        actor,
        "correct_attendance",
        reg,
        unit=activity.unit,
        details={"from": old, "to": outcome, "reason": reason},
    )
    if old == Outcome.ABSENT:
        _revoke_stale_blocks(reg, actor=actor)
    elif outcome == Outcome.ABSENT and activity.community_id:
        _evaluate_absence(reg, actor=actor)


# --- Check-in, check-out, hours ------------------------------------------------------------------


def round_minutes(minutes: float) -> int:
    step = int(conf.get("ACTIVITY_HOURS_STEP_MINUTES"))
    mode = conf.get("ACTIVITY_HOURS_ROUNDING")
    minutes = max(0.0, minutes)
    if step <= 1:
        return int(minutes) if mode == "down" else math.ceil(minutes) if mode == "up" else int(minutes + 0.5)
    units = minutes / step
    if mode == "up":
        units = math.ceil(units - 1e-9)
    elif mode == "nearest":
        units = int(Decimal(str(units)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    else:
        units = math.floor(units + 1e-9)
    return int(units * step)


def compute_hours(activity: Activity, checked_in_at, checked_out_at) -> Decimal | None:
    """Hours from check-in to check-out, capped by the activity's duration, rounded (settings)."""
    if checked_in_at is None or checked_out_at is None:
        return None
    minutes = (checked_out_at - checked_in_at).total_seconds() / 60
    minutes = min(minutes, activity.duration.total_seconds() / 60)
    rounded = min(round_minutes(minutes), int(activity.duration.total_seconds() // 60))
    return (Decimal(rounded) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class CheckResult:
    registration: Registration
    done: bool  # False when it had already been done (a second scan)
    kind: str
    at: datetime
    late_minutes: int | None = None
    hours: Decimal | None = None


def can_check_in(user) -> bool:
    """Writers and youth liaisons may check people in (liaisons run activities on site)."""
    return bool(user and user.is_authenticated and (user.can_write or getattr(user, "role", "") == "liaison"))


def check_in(
    reg: Registration, *, kind: str = CheckKind.IN, method: str, actor=None, at=None, note: str = ""
) -> CheckResult:
    """Record a check-in or check-out.

    Self-service (the participant scanned the activity's code) works only inside the check-in
    window and for a confirmed place (or approved leave: they came after all). Staff may also
    check in someone from the waitlist (a walk-in) and correct times; a manual entry needs a
    note. A check-in after the grace period is noted as late; after settlement, a check-in
    corrects the outcome to attended.
    """
    now = at or timezone.now()
    activity = reg.activity
    staff = method != CheckMethod.SELF_QR
    if activity.status != ActivityStatus.PUBLISHED:
        raise Refused("活动未发布或已取消", code="status")
    if kind not in CheckKind.values:
        raise ValueError(kind)
    if method == CheckMethod.MANUAL and not normalize.text(note):
        raise Refused("手工签到请注明原因（如：手机没电、现场核验身份证）", "note")
    if not staff:
        if now < activity.checkin_opens_at:
            raise Refused(f"签到将于{when(activity.checkin_opens_at)}开放", code="window")
        if now > activity.checkin_closes_at:
            raise Refused("本活动签到已结束", code="window")
    if reg.status == RegistrationStatus.CANCELLED:
        raise Refused(
            "该报名已取消，无法签到" + ("；请工作人员重新为其报名" if staff else ""), code="cancelled"
        )
    if reg.status == RegistrationStatus.WAITLISTED and not staff:
        raise Refused("你在候补名单中，尚未获得名额；请联系现场工作人员", code="waitlisted")
    note = normalize.text(note)[:200]
    user = actor if getattr(actor, "is_authenticated", False) else None
    if kind == CheckKind.IN:
        if reg.checked_in_at is not None and not (staff and at is not None):
            return CheckResult(reg, False, kind, reg.checked_in_at, reg.late_minutes)
        late_after = activity.starts_at + timedelta(minutes=activity.late_after_minutes)
        late = int((now - activity.starts_at).total_seconds() // 60) if now > late_after else None
        updates = {"checked_in_at": now, "checkin_method": method, "late_minutes": late}
        if reg.status == RegistrationStatus.WAITLISTED:
            updates.update(status=RegistrationStatus.CONFIRMED, confirmed_at=now)
        with transaction.atomic():
            rows = Registration.objects.filter(pk=reg.pk)
            if reg.checked_in_at is None:
                rows = rows.filter(checked_in_at__isnull=True)
            if not rows.update(**updates):  # checked in a moment ago by another scan
                reg.refresh_from_db()
                return CheckResult(reg, False, kind, reg.checked_in_at, reg.late_minutes)
            for key, value in updates.items():
                setattr(reg, key, value)
            if reg.checked_out_at:
                reg.hours_computed = compute_hours(activity, reg.checked_in_at, reg.checked_out_at)
                Registration.objects.filter(pk=reg.pk).update(hours_computed=reg.hours_computed)
            CheckIn.objects.create(
                activity=activity,
                registration=reg,
                kind=kind,
                method=method,
                at=now,
                late_minutes=late,
                by=user,
                note=note,
            )
            record(
                actor,
                "check_in",
                reg,
                unit=activity.unit,
                details={"activity": activity.pk, "method": method, "late": late, "note": note},
            )
            if activity.settled_at and reg.outcome != Outcome.ATTENDED:
                _correct_outcome(reg, Outcome.ATTENDED, actor=actor, reason=f"补签到（{note or '现场核实'}）")
        return CheckResult(reg, True, kind, now, late)
    if reg.checked_in_at is None:
        raise Refused("尚未签到，不能签退", code="not_in")
    if reg.checked_out_at is not None and not staff:
        return CheckResult(reg, False, kind, reg.checked_out_at, hours=reg.hours_computed)
    if now < reg.checked_in_at:
        raise Refused("签退时间不能早于签到时间", code="order")
    hours = compute_hours(activity, reg.checked_in_at, now)
    with transaction.atomic():
        Registration.objects.filter(pk=reg.pk).update(
            checked_out_at=now, checkout_method=method, hours_computed=hours
        )
        reg.checked_out_at, reg.checkout_method, reg.hours_computed = now, method, hours
        CheckIn.objects.create(
            activity=activity, registration=reg, kind=kind, method=method, at=now, by=user, note=note
        )
        record(
            actor,
            "check_out",
            reg,
            unit=activity.unit,
            details={"activity": activity.pk, "method": method, "hours": str(hours), "note": note},
        )
    return CheckResult(reg, True, kind, now, hours=hours)


def checkout_all(activity: Activity, *, actor, at=None) -> int:
    """Check out, at the activity's end, everyone checked in who forgot to check out."""
    at = at or min(timezone.now(), activity.ends_at)
    if timezone.now() < activity.starts_at:
        raise ValidationError("活动尚未开始")
    count = 0
    for reg in activity.registrations.filter(
        checked_in_at__isnull=False, checked_out_at__isnull=True
    ).select_related("activity"):
        check_in(
            reg,
            kind=CheckKind.OUT,
            method=CheckMethod.MANUAL,
            actor=actor,
            at=max(at, reg.checked_in_at),
            note="活动结束统一签退",
        )
        count += 1
    return count


def find_by_phone(activity: Activity, phone: str, name: str = "") -> Registration:
    """The registration of this activity made with ``phone`` (and ``name`` when the phone is shared)."""
    try:
        phone = normalize.phone(phone)
    except normalize.CellError as exc:
        raise Refused(str(exc), "phone") from exc
    if not phone:
        raise Refused("请填写报名时使用的手机号", "phone")
    regs = list(
        Registration.objects.select_related("activity", "person")
        .filter(activity=activity, person__phone_bidx=cipher().blind_index(phone))
        .order_by("pk")[:5]
    )
    if name:
        name = normalize.compact(name)
        regs = [r for r in regs if r.person.name == name]
    if not regs:
        raise Refused("没有找到该手机号的报名，请核对手机号，或联系现场工作人员", "phone", code="not_found")
    if len(regs) > 1:
        raise Refused("该手机号报名了多人，请同时填写姓名", "name", code="ambiguous")
    return regs[0]


# --- Settlement ----------------------------------------------------------------------------------


@dataclass
class SettleResult:
    activity: Activity
    attended: int = 0
    absent: int = 0
    excused: int = 0
    warnings: int = 0
    blocks: int = 0
    already: bool = False
    people: list = field(default_factory=list)


def settle_attendance(activity: Activity, *, actor=None, now=None) -> SettleResult:
    """Decide attended / absent / excused for every place of an ended activity, write them on the
    credit records, and apply the community's credit rule. Idempotent."""
    now = now or timezone.now()
    result = SettleResult(activity)
    if activity.status != ActivityStatus.PUBLISHED:
        raise ValidationError("只有已发布的活动可以结算考勤")
    if now < activity.ends_at:
        raise ValidationError("活动尚未结束，不能结算考勤")
    absent: list[Registration] = []
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        if locked.settled_at is not None:
            result.already = True
            return result
        regs = list(
            locked.registrations.filter(
                status__in=[RegistrationStatus.CONFIRMED, RegistrationStatus.ON_LEAVE], outcome=""
            ).select_related("person")
        )
        for reg in regs:
            reg.activity = locked
            if reg.checked_in_at is not None:
                reg.outcome = Outcome.ATTENDED
                reg.hours_computed = compute_hours(locked, reg.checked_in_at, reg.checked_out_at)
                result.attended += 1
                reason = f"参加「{locked.title}」" + (
                    f"（迟到{reg.late_minutes}分钟）" if reg.late_minutes else ""
                )
            elif reg.status == RegistrationStatus.ON_LEAVE:
                reg.outcome = Outcome.EXCUSED
                result.excused += 1
                reason = f"「{locked.title}」已请假：{reg.leave_reason}"
            else:
                reg.outcome = Outcome.ABSENT
                result.absent += 1
                reason = f"报名「{locked.title}」后未到场且未请假"
                if reg.leave_status == LeaveStatus.PENDING:
                    reason += "（请假申请尚未获批）"
                absent.append(reg)
            reg.settled_at = now
            _credit(
                reg.person,
                locked,
                kind=CREDIT_KIND[reg.outcome],
                reason=reason,
                at=locked.ends_at,
                actor=actor,
            )
        Registration.objects.bulk_update(regs, ["outcome", "settled_at", "hours_computed"], batch_size=500)
        locked.settled_at = now
        locked.save(update_fields=["settled_at", "updated_at"])
        for reg in absent:
            verdict = _evaluate_absence(reg, actor=actor)
            result.warnings += verdict == "warning"
            result.blocks += verdict == "block"
        record(
            actor,
            "settle_attendance",
            locked,
            details={
                "attended": result.attended,
                "absent": result.absent,
                "excused": result.excused,
                "warnings": result.warnings,
                "blocks": result.blocks,
            },
        )
    activity.settled_at = now
    return result


def settle_due(*, community: Community | None = None, now=None, actor=None) -> list[SettleResult]:
    """Settle every published activity that ended at least SETTLE_AFTER hours ago (oldest first)."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=float(conf.get("ACTIVITY_SETTLE_AFTER_HOURS")))
    due = Activity.objects.published().filter(settled_at__isnull=True, ends_at__lte=cutoff)
    if community is not None:
        due = due.filter(community=community)
    return [settle_attendance(a, actor=actor, now=now) for a in due.order_by("ends_at", "pk")]


# --- Volunteer hours -----------------------------------------------------------------------------


def parse_hours(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        hours = Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise ValidationError(f"时长“{value}”不是数字") from exc
    if not hours.is_finite():
        raise ValidationError(f"时长“{value}”不是数字")
    return hours.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@transaction.atomic
def confirm_hours(
    activity: Activity, *, actor, adjustments: dict | None = None, notes: dict | None = None
) -> int:
    """The organizer confirms the volunteer hours of everyone who attended (settling first if due).

    ``adjustments`` maps registration ids to hours that replace the computed value (never above
    the activity's duration); ``notes`` gives the reason for each adjustment.
    """
    if not activity.volunteer_hours:
        raise ValidationError("本活动不计志愿时长")
    if not Activity.objects.filter(pk=activity.pk, settled_at__isnull=False).exists():
        settle_attendance(activity, actor=actor)
    adjustments, notes = adjustments or {}, notes or {}
    limit = activity.duration_hours
    now = timezone.now()
    changed = {}
    regs = list(activity.registrations.filter(outcome=Outcome.ATTENDED).select_related("person"))
    for reg in regs:
        value = adjustments.get(reg.pk, reg.hours_computed)
        value = Decimal(0) if value is None else Decimal(value)
        if value < 0 or value > limit:
            raise ValidationError(f"{reg.person.name}的时长应在0到{limit}小时之间（活动时长）")
        note = normalize.text(notes.get(reg.pk, ""))[:200]
        if reg.pk in adjustments and value != (reg.hours_computed or 0):
            if not note and not reg.hours_note:
                raise ValidationError(f"调整{reg.person.name}的时长时请注明原因")
        else:
            note, reg.hours_note = "", ""
        if reg.hours != value:
            changed[reg.pk] = [str(reg.hours) if reg.hours is not None else None, str(value)]
        reg.hours, reg.hours_confirmed_at, reg.hours_confirmed_by = value, now, actor
        if note:
            reg.hours_note = note
    Registration.objects.bulk_update(
        regs, ["hours", "hours_confirmed_at", "hours_confirmed_by", "hours_note"], batch_size=500
    )
    activity.hours_confirmed_at, activity.hours_confirmed_by = now, actor
    activity.save(update_fields=["hours_confirmed_at", "hours_confirmed_by", "updated_at"])
    record(actor, "confirm_hours", activity, details={"people": len(regs), "changed": changed})
    return len(regs)


def last_held(**filters):
    """``{key: latest start}`` of held activities grouped by one column, e.g. last_held(field="community")."""
    column = filters.pop("field")
    rows = (
        Activity.objects.held()
        .filter(**filters)
        .exclude(**{f"{column}__isnull": True})
        .values(column)
        .annotate(last=Max("starts_at"))
        .order_by()
    )
    return {row[column]: row["last"] for row in rows}
