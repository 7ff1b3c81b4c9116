"""Domain operations on organizations and alliances. Views, API, commands and the demo call these.

Every write validates (Chinese messages for staff), writes, and records an audit event.
``actor`` is the staff user (``None`` for the command line and the demo generator); when given,
every record the operation touches must lie in the actor's scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from tuanju.audit.actions import diff, record
from tuanju.core.scope import user_sees_unit
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports.actions import register
from tuanju.organizations import hooks, uscc
from tuanju.organizations.models import (
    ABSORPTION_LABELS,
    COUNCIL_MAX,
    COUNCIL_MIN,
    AbsorptionKind,
    Alliance,
    AllianceMember,
    DutyAssignment,
    GroupMembership,
    JoinMethod,
    JointMeeting,
    MeetingStatus,
    MemberRole,
    Membership,
    Organization,
    OrgTag,
    PoliticalAbsorption,
    RegistrationStatus,
    ServiceProject,
    activity_months,
    add_months,
    first_of_month,
    min_members,
    months_before,
    quarter_start,
)
from tuanju.people.models import Person

OUT_OF_SCOPE = "不在您的管辖范围内"
MAX_AMOUNT = Decimal("9999999999.99")


@register("organizations")
def organizations_spec(unit):
    from tuanju.organizations.importing import OrganizationSpec

    return OrganizationSpec(unit)


def _today() -> date:
    return timezone.localdate()


def _is_staff(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)


def _require_unit(actor, unit, what: str = "单位") -> None:
    if _is_staff(actor) and not user_sees_unit(actor, unit):
        raise ValidationError(f"{what}{OUT_OF_SCOPE}")


def _require_person(actor, person: Person | None, what: str = "人员") -> None:
    if (
        person is not None
        and _is_staff(actor)
        and not Person.objects.visible_to(actor).filter(pk=person.pk).exists()
    ):
        raise ValidationError(f"{what}“{person.name}”{OUT_OF_SCOPE}")


def _require_org(actor, org: Organization, what: str = "组织") -> None:
    if _is_staff(actor) and not user_sees_unit(actor, org.unit):
        raise ValidationError(f"{what}“{org.name}”{OUT_OF_SCOPE}")


# --- Organizations ---------------------------------------------------------------------------

SNAPSHOT_FIELDS = [
    "name",
    "unit_id",
    "org_type_id",
    "registration_status",
    "uscc",
    "founded_on",
    "venue",
    "contact_name",
    "contact_phone_masked",
    "leader_id",
    "is_league_affiliated",
    "is_incubation_base",
    "is_cloud_resident",
    "is_active",
]
#: fields ``save_organization`` accepts in ``data``
EDITABLE_FIELDS = [
    "name",
    "unit",
    "org_type",
    "registration_status",
    "uscc",
    "founded_on",
    "charter",
    "introduction",
    "venue",
    "contact_name",
    "leader",
    "logo",
    "is_league_affiliated",
    "is_incubation_base",
    "is_cloud_resident",
    "is_active",
]


def _snapshot(org: Organization) -> dict:
    data = {f: getattr(org, f) for f in SNAPSHOT_FIELDS}
    data["founded_on"] = data["founded_on"].isoformat() if data["founded_on"] else None
    data["charter_length"] = len(org.charter or "")
    data["logo"] = org.logo.name if org.logo else ""
    return data


def check_uscc(code: str, registration_status: str, *, exclude_pk: int | None = None) -> str:
    """The normalized code, or a ValidationError with the Chinese reasons."""
    code = uscc.normalize(code)
    if not code:
        if registration_status == RegistrationStatus.REGISTERED:
            raise ValidationError("民政登记的组织必须填写统一社会信用代码")
        return ""
    reasons = uscc.explain(code)
    if reasons:
        raise ValidationError(reasons)
    if registration_status == RegistrationStatus.REGISTERED and code[0] != uscc.CIVIL_AFFAIRS:
        raise ValidationError("民政登记的社会组织，统一社会信用代码第1位应为5（民政）")
    clash = Organization.objects.filter(uscc=code)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    other = clash.select_related("unit").first()
    if other is not None:
        raise ValidationError(f"该统一社会信用代码已由“{other.unit.name}”的“{other.name}”登记")
    return code


def check_founded_on(day: date | None) -> None:
    if day and (day > _today() or day.year < 1900):
        raise ValidationError("成立日期不合理")


@transaction.atomic
def save_organization(
    org: Organization,
    *,
    data: dict,
    contact_phone: str | None = None,
    tags: list[str] | None = None,
    actor=None,
) -> Organization:
    """Create or update an organization from cleaned form / API / import data."""
    creating = org.pk is None
    before = {} if creating else _snapshot(org)
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        if name == "logo" and value is None:
            continue
        setattr(org, name, value)
    org.name = " ".join((org.name or "").split())
    problems: dict[str, list[str]] = {}

    def problem(field_name: str, message: str) -> None:
        problems.setdefault(field_name, []).append(message)

    if not org.name:
        problem("name", "组织名称不能为空")
    if org.unit_id is None:
        problem("unit", "请选择所属单位")
    else:
        try:
            _require_unit(actor, org.unit, "所属单位")
        except ValidationError as exc:
            problem("unit", exc.messages[0])
        same_name = Organization.objects.filter(unit_id=org.unit_id, name=org.name)
        if org.pk:
            same_name = same_name.exclude(pk=org.pk)
        if org.name and same_name.exists():
            problem("name", f"“{org.unit.name}”已有名为“{org.name}”的组织")
    if org.org_type_id is None:
        problem("org_type", "请选择组织类型")
    try:
        org.uscc = check_uscc(org.uscc or "", org.registration_status, exclude_pk=org.pk) or None
    except ValidationError as exc:
        problem("uscc", exc.messages[0])
    try:
        check_founded_on(org.founded_on)
    except ValidationError as exc:
        problem("founded_on", exc.messages[0])
    if org.leader_id is not None:
        try:
            _require_person(actor, org.leader, "负责人")
        except ValidationError as exc:
            problem("leader", exc.messages[0])
    if problems:
        raise ValidationError(problems)
    if contact_phone is not None:
        org.set_contact_phone(contact_phone)
    org.full_clean(exclude=["contact_phone_enc", "tags", "uscc", "logo"], validate_unique=False)
    org.save()
    if tags is not None:
        set_tags(org, tags)
    after = _snapshot(org)
    details = {"changes": diff(before, after)}
    if tags is not None:
        details["tags"] = sorted(tags)
    record(actor, "create" if creating else "update", org, details=details)
    return org


def set_tags(org: Organization, names: list[str]) -> None:
    wanted = []
    for name in names:
        name = " ".join(str(name).split())[:30]
        if name and name not in wanted:
            wanted.append(name)
    tags = [OrgTag.objects.get_or_create(name=name)[0] for name in wanted]
    org.tags.set(tags)


def reveal_contact_phone(org: Organization, *, actor) -> str:
    """The plain contact phone for a role that may see personal data; every view is audit-logged."""
    if not actor.can_unmask:
        raise PermissionError("role may not see personal data")
    value = org.reveal_contact_phone()
    record(actor, "view_pii", org, details={"field": "contact_phone"})
    return value


# --- Members ---------------------------------------------------------------------------------


def _check_date(day: date, label: str) -> None:
    if day > _today():
        raise ValidationError(f"{label}不能晚于今天")
    if day.year < 1900:
        raise ValidationError(f"{label}不合理")


@transaction.atomic
def add_member(
    org: Organization,
    person: Person,
    *,
    role: str = MemberRole.MEMBER,
    joined_on: date | None = None,
    actor=None,
) -> Membership:
    _require_org(actor, org)
    _require_person(actor, person)
    joined_on = joined_on or _today()
    _check_date(joined_on, "入会日期")
    if role not in MemberRole.values:
        raise ValidationError("会员角色无效")
    if Membership.objects.filter(organization=org, person=person, left_on__isnull=True).exists():
        raise ValidationError(f"“{person.name}”已是“{org.name}”的会员")
    membership = Membership.objects.create(organization=org, person=person, role=role, joined_on=joined_on)
    record(
        actor,
        "create",
        membership,
        unit=org.unit,
        details={
            "organization": org.pk,
            "person": person.pk,
            "role": role,
            "joined_on": joined_on.isoformat(),
        },
    )
    return membership


@transaction.atomic
def update_member(membership: Membership, *, role: str, joined_on: date, actor=None) -> Membership:
    org = membership.organization
    _require_org(actor, org)
    if role not in MemberRole.values:
        raise ValidationError("会员角色无效")
    _check_date(joined_on, "入会日期")
    if membership.left_on and joined_on > membership.left_on:
        raise ValidationError("入会日期不能晚于退会日期")
    before = {"role": membership.role, "joined_on": membership.joined_on.isoformat()}
    membership.role, membership.joined_on = role, joined_on
    membership.save(update_fields=["role", "joined_on"])
    after = {"role": role, "joined_on": joined_on.isoformat()}
    record(actor, "update", membership, unit=org.unit, details={"changes": diff(before, after)})
    return membership


@transaction.atomic
def end_membership(membership: Membership, *, left_on: date | None = None, actor=None) -> Membership:
    """The member leaves (退会); the row stays as history."""
    org = membership.organization
    _require_org(actor, org)
    if membership.left_on is not None:
        raise ValidationError("该会员已退会")
    left_on = left_on or _today()
    _check_date(left_on, "退会日期")
    if left_on < membership.joined_on:
        raise ValidationError("退会日期不能早于入会日期")
    membership.left_on = left_on
    membership.save(update_fields=["left_on"])
    record(
        actor,
        "update",
        membership,
        unit=org.unit,
        details={"left": left_on.isoformat(), "person": membership.person_id, "organization": org.pk},
    )
    return membership


def _group_descendants(org_id: int) -> set[int]:
    """Ids of every organization that is (transitively) an active group member of ``org_id``."""
    seen: set[int] = set()
    frontier = {org_id}
    while frontier:
        found = set(
            GroupMembership.objects.filter(organization_id__in=frontier, left_on__isnull=True).values_list(
                "member_id", flat=True
            )
        )
        frontier = found - seen
        seen |= found
    return seen


@transaction.atomic
def add_group_member(
    org: Organization, member: Organization, *, joined_on: date | None = None, actor=None
) -> GroupMembership:
    _require_org(actor, org)
    _require_org(actor, member, "团体会员")
    joined_on = joined_on or _today()
    _check_date(joined_on, "入会日期")
    if member.pk == org.pk:
        raise ValidationError("组织不能成为自己的团体会员")
    if GroupMembership.objects.filter(organization=org, member=member, left_on__isnull=True).exists():
        raise ValidationError(f"“{member.name}”已是“{org.name}”的团体会员")
    if org.pk in _group_descendants(member.pk):
        raise ValidationError(f"“{org.name}”已是“{member.name}”的（间接）团体会员，不能互为会员")
    link = GroupMembership.objects.create(organization=org, member=member, joined_on=joined_on)
    record(
        actor,
        "create",
        link,
        unit=org.unit,
        details={"organization": org.pk, "member": member.pk, "joined_on": joined_on.isoformat()},
    )
    return link


@transaction.atomic
def end_group_membership(
    link: GroupMembership, *, left_on: date | None = None, actor=None
) -> GroupMembership:
    org = link.organization
    _require_org(actor, org)
    if link.left_on is not None:
        raise ValidationError("该团体会员已退会")
    left_on = left_on or _today()
    _check_date(left_on, "退会日期")
    if left_on < link.joined_on:
        raise ValidationError("退会日期不能早于入会日期")
    link.left_on = left_on
    link.save(update_fields=["left_on"])
    record(
        actor, "update", link, unit=org.unit, details={"left": left_on.isoformat(), "member": link.member_id}
    )
    return link


# --- Purchased service projects and political absorption -----------------------------------------

PROJECT_FIELDS = ["title", "funder", "amount", "starts_on", "ends_on", "status", "deliverables"]


@transaction.atomic
def save_project(project: ServiceProject, *, data: dict, actor=None) -> ServiceProject:
    creating = project.pk is None
    before = {} if creating else {f: str(getattr(project, f)) for f in PROJECT_FIELDS if f != "deliverables"}
    for name, value in data.items():
        if name not in PROJECT_FIELDS and name != "organization":
            raise ValueError(f"not editable: {name}")
        setattr(project, name, value)
    _require_org(actor, project.organization)
    problems: dict[str, list[str]] = {}
    project.title = " ".join((project.title or "").split())
    if not project.title:
        problems["title"] = ["项目名称不能为空"]
    if not (project.funder or "").strip():
        problems["funder"] = ["请填写购买方（如区民政局）"]
    if project.amount is None or project.amount < 0 or project.amount > MAX_AMOUNT:
        problems["amount"] = ["金额应为0至99亿元之间的数字"]
    if project.starts_on and project.ends_on and project.ends_on < project.starts_on:
        problems["ends_on"] = ["结束日期不能早于开始日期"]
    if problems:
        raise ValidationError(problems)
    project.full_clean()
    project.save()
    after = {f: str(getattr(project, f)) for f in PROJECT_FIELDS if f != "deliverables"}
    record(
        actor,
        "create" if creating else "update",
        project,
        unit=project.organization.unit,
        details={"organization": project.organization_id, "changes": diff(before, after)},
    )
    return project


@transaction.atomic
def delete_project(project: ServiceProject, *, actor=None) -> None:
    org = project.organization
    _require_org(actor, org)
    record(actor, "delete", project, unit=org.unit, details={"organization": org.pk, "title": project.title})
    project.delete()


@transaction.atomic
def save_absorption(entry: PoliticalAbsorption, *, data: dict, actor=None) -> PoliticalAbsorption:
    creating = entry.pk is None
    for name, value in data.items():
        if name not in ("organization", "person", "kind", "level", "year", "notes"):
            raise ValueError(f"not editable: {name}")
        setattr(entry, name, value)
    org = entry.organization
    _require_org(actor, org)
    _require_person(actor, entry.person)
    problems: dict[str, list[str]] = {}
    is_member = org.leader_id == entry.person_id or (
        Membership.objects.filter(organization=org, person=entry.person, left_on__isnull=True).exists()
    )
    if not is_member:
        problems["person"] = [f"“{entry.person.name}”不是“{org.name}”的负责人或在册会员"]
    if entry.kind not in AbsorptionKind.values:
        problems["kind"] = ["吸纳类别无效"]
    if not entry.year or not 1949 <= entry.year <= _today().year + 1:
        problems["year"] = ["年份不合理"]
    clash = PoliticalAbsorption.objects.filter(
        person=entry.person, kind=entry.kind, level=entry.level, year=entry.year
    )
    if entry.pk:
        clash = clash.exclude(pk=entry.pk)
    if not problems and clash.exists():
        problems["kind"] = [
            f"“{entry.person.name}”{entry.year}年的{ABSORPTION_LABELS.get(entry.kind, '')}记录已存在"
        ]
    if problems:
        raise ValidationError(problems)
    entry.full_clean(validate_unique=False)
    entry.save()
    record(
        actor,
        "create" if creating else "update",
        entry,
        unit=org.unit,
        details={"organization": org.pk, "person": entry.person_id, "kind": entry.kind, "year": entry.year},
    )
    return entry


@transaction.atomic
def delete_absorption(entry: PoliticalAbsorption, *, actor=None) -> None:
    org = entry.organization
    _require_org(actor, org)
    record(actor, "delete", entry, unit=org.unit, details={"organization": org.pk, "kind": entry.kind})
    entry.delete()


# --- Roll-ups ---------------------------------------------------------------------------------


def member_rollup(root: OrgUnit, organizations=None) -> dict[str, dict[str, int]]:
    """Organizations, individual and group members rolled up to EVERY unit of ``root``'s subtree.

    Three grouped queries (one row per unit that holds organizations), then each unit's figures
    are added to all its ancestors by path prefix. Returns
    ``{unit_path: {"organizations", "members", "group_members"}}`` for every unit of the subtree
    that has any. ``organizations`` (an already scoped queryset) restricts what is counted; only
    active organizations and current members count.
    """
    in_tree = {"unit__path__startswith": root.path, "is_active": True}
    via_org = {
        "organization__unit__path__startswith": root.path,
        "organization__is_active": True,
        "left_on__isnull": True,
    }
    orgs = Organization.objects.filter(**in_tree)
    members = Membership.objects.filter(**via_org)
    groups = GroupMembership.objects.filter(**via_org)
    if organizations is not None:
        allowed = organizations.values("pk")
        orgs, members, groups = (
            orgs.filter(pk__in=allowed),
            members.filter(organization__in=allowed),
            groups.filter(organization__in=allowed),
        )
    # Units holding active organizations, with their paths: every counted member belongs to one.
    paths: dict[int, str] = {}
    per_unit: dict[str, list[tuple[int, int]]] = {"organizations": []}
    for unit_id, path, n in orgs.values_list("unit_id", "unit__path").annotate(n=Count("pk")).order_by():
        paths[unit_id] = path
        per_unit["organizations"].append((unit_id, n))
    per_unit["members"] = list(
        members.values_list("organization__unit_id").annotate(n=Count("pk")).order_by()
    )
    per_unit["group_members"] = list(
        groups.values_list("organization__unit_id").annotate(n=Count("pk")).order_by()
    )
    step, base = OrgUnit.steplen, len(root.path)
    totals: dict[str, dict[str, int]] = {}
    for key, rows in per_unit.items():
        for unit_id, n in rows:
            path = paths[unit_id]
            for end in range(base, len(path) + 1, step):
                figures = totals.get(path[:end])
                if figures is None:
                    figures = totals[path[:end]] = {"organizations": 0, "members": 0, "group_members": 0}
                figures[key] += n
    return totals


@dataclass
class UnitRow:
    unit: OrgUnit
    organizations: int = 0
    failing: int = 0
    members: int = 0
    group_members: int = 0
    projects: int = 0
    project_amount: Decimal = Decimal(0)
    absorptions: dict = field(default_factory=dict)

    @property
    def absorption_total(self) -> int:
        return sum(self.absorptions.values())


@dataclass(frozen=True)
class OrgFacts:
    """What the 四有 check and the roll-ups need of one organization."""

    pk: int
    unit_path: str
    has_leader: bool
    has_venue: bool
    members: int
    group_members: int
    #: None while activities are not counted
    has_activity: bool | None

    @property
    def has_team(self) -> bool:
        return self.members >= min_members()

    @property
    def four_have(self) -> bool:
        return self.has_leader and self.has_venue and self.has_team and self.has_activity is not False


def org_facts(orgs, *, today: date | None = None) -> list[OrgFacts]:
    """The facts of every organization of ``orgs`` in three grouped queries (plus the activity source's).

    The same rules as ``OrganizationQuerySet.with_four_have``, computed in one pass rather than
    with a correlated count per organization: the roll-up pages read thousands of organizations.
    """
    ids = orgs.values("pk")
    members = dict(
        Membership.objects.filter(organization__in=ids, left_on__isnull=True)
        .values_list("organization_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    groups = dict(
        GroupMembership.objects.filter(organization__in=ids, left_on__isnull=True)
        .values_list("organization_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    today = today or _today()
    source = hooks.active_since(months_before(today, activity_months()))
    active = None
    if source is not None:
        active = set(orgs.filter(pk__in=source).values_list("pk", flat=True))
    return [
        OrgFacts(
            pk,
            path,
            leader_id is not None,
            bool(venue),
            members.get(pk, 0),
            groups.get(pk, 0),
            None if active is None else pk in active,
        )
        for pk, path, leader_id, venue in orgs.values_list("pk", "unit__path", "leader_id", "venue").iterator(
            chunk_size=5000
        )
    ]


def by_unit(unit: OrgUnit, organizations, *, today: date | None = None) -> tuple[UnitRow, list[UnitRow]]:
    """The figures of ``unit`` and of each of its children (a handful of grouped queries).

    ``organizations`` is an already scoped queryset of organizations (active ones count).
    """
    orgs = organizations.filter(is_active=True, unit__path__startswith=unit.path)
    children = list(OrgUnit.objects.get_children(unit))
    rows = {child.path: UnitRow(child) for child in children}
    total = UnitRow(unit)
    width = len(unit.path) + OrgUnit.steplen
    for facts in org_facts(orgs, today=today):
        failing = 0 if facts.four_have else 1
        for row in (total, rows.get(facts.unit_path[:width])):
            if row is not None:
                row.organizations += 1
                row.failing += failing
                row.members += facts.members
                row.group_members += facts.group_members
    org_ids = orgs.values("pk")
    width = len(unit.path) + OrgUnit.steplen
    projects = (
        ServiceProject.objects.filter(organization__in=org_ids)
        .annotate(child_path=Substr(F("organization__unit__path"), 1, width))
        .values("child_path")
        .annotate(n=Count("pk"), amount=Sum("amount"))
        .order_by()
    )
    for row in projects:
        total.projects += row["n"]
        total.project_amount += row["amount"] or 0
        if row["child_path"] in rows:
            rows[row["child_path"]].projects = row["n"]
            rows[row["child_path"]].project_amount = row["amount"] or Decimal(0)
    absorptions = (
        PoliticalAbsorption.objects.filter(organization__in=org_ids)
        .annotate(child_path=Substr(F("organization__unit__path"), 1, width))
        .values("child_path", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in absorptions:
        total.absorptions[row["kind"]] = total.absorptions.get(row["kind"], 0) + row["n"]
        if row["child_path"] in rows:
            rows[row["child_path"]].absorptions[row["kind"]] = row["n"]
    return total, [rows[child.path] for child in children]


def four_have_summary(organizations, *, today: date | None = None) -> dict:
    """Counts for the 四有 badge legend: passing, failing, and failing per criterion."""
    facts = org_facts(organizations.filter(is_active=True), today=today)
    counted = hooks.activity_source() is not None
    passing = sum(1 for f in facts if f.four_have)
    return {
        "total": len(facts),
        "passing": passing,
        "failing": len(facts) - passing,
        "no_leader": sum(1 for f in facts if not f.has_leader),
        "no_venue": sum(1 for f in facts if not f.has_venue),
        "no_team": sum(1 for f in facts if not f.has_team),
        "no_activity": sum(1 for f in facts if f.has_activity is False) if counted else None,
        "activity_counted": counted,
        "min_members": min_members(),
    }


# --- Alliances ---------------------------------------------------------------------------------

ALLIANCE_FIELDS = [
    "name",
    "field",
    "unit",
    "leader",
    "secretary_general",
    "founded_on",
    "description",
    "is_active",
]


def _alliance_snapshot(alliance: Alliance) -> dict:
    return {
        "name": alliance.name,
        "field": alliance.field,
        "unit": alliance.unit_id,
        "leader": alliance.leader_id,
        "secretary_general": alliance.secretary_general_id,
        "founded_on": alliance.founded_on.isoformat() if alliance.founded_on else None,
        "is_active": alliance.is_active,
    }


def _in_alliance_area(alliance: Alliance, org: Organization) -> bool:
    return org.unit.path.startswith(alliance.unit.path)


@transaction.atomic
def save_alliance(
    alliance: Alliance, *, data: dict, leader_join_method: str = JoinMethod.BUILT, actor=None
) -> Alliance:
    """Create or update an alliance. A leading society that is not yet a member joins it."""
    creating = alliance.pk is None
    before = {} if creating else _alliance_snapshot(alliance)
    for name, value in data.items():
        if name not in ALLIANCE_FIELDS:
            raise ValueError(f"not editable: {name}")
        setattr(alliance, name, value)
    alliance.name = " ".join((alliance.name or "").split())
    alliance.field = " ".join((alliance.field or "").split())
    problems: dict[str, list[str]] = {}
    if not alliance.name:
        problems["name"] = ["联盟名称不能为空"]
    if not alliance.field:
        problems["field"] = ["请填写联盟领域（如志愿服务、文创、电竞）"]
    if alliance.unit_id is None:
        problems["unit"] = ["请选择牵头团组织"]
    else:
        try:
            _require_unit(actor, alliance.unit, "牵头团组织")
        except ValidationError as exc:
            problems["unit"] = exc.messages
        clash = Alliance.objects.filter(unit_id=alliance.unit_id, name=alliance.name)
        if alliance.pk:
            clash = clash.exclude(pk=alliance.pk)
        if alliance.name and clash.exists():
            problems.setdefault("name", []).append(f"“{alliance.unit.name}”已有名为“{alliance.name}”的联盟")
    leader = alliance.leader
    if leader is not None and alliance.unit_id is not None:
        if not _in_alliance_area(alliance, leader):
            problems["leader"] = [f"盟主社团“{leader.name}”不在“{alliance.unit.name}”范围内"]
        elif _is_staff(actor) and not user_sees_unit(actor, leader.unit):
            problems["leader"] = [f"盟主社团“{leader.name}”{OUT_OF_SCOPE}"]
        elif (
            alliance.pk
            and alliance.council().exists()
            and not alliance.members.filter(organization=leader, is_council=True).exists()
        ):
            problems["leader"] = [f"盟主社团“{leader.name}”必须是理事社团，请先将其加入理事会"]
    if alliance.secretary_general_id is not None:
        try:
            _require_person(actor, alliance.secretary_general, "秘书长")
        except ValidationError as exc:
            problems["secretary_general"] = exc.messages
    if alliance.founded_on and alliance.founded_on > _today():
        problems["founded_on"] = ["成立日期不能晚于今天"]
    if problems:
        raise ValidationError(problems)
    alliance.full_clean(validate_unique=False)
    alliance.save()
    if leader is not None and not alliance.members.filter(organization=leader).exists():
        AllianceMember.objects.create(
            alliance=alliance,
            organization=leader,
            join_method=leader_join_method,
            joined_on=alliance.founded_on,
        )
    record(
        actor,
        "create" if creating else "update",
        alliance,
        details={"changes": diff(before, _alliance_snapshot(alliance))},
    )
    return alliance


@transaction.atomic
def add_alliance_member(
    alliance: Alliance, org: Organization, *, join_method: str, joined_on: date | None = None, actor=None
) -> AllianceMember:
    _require_unit(actor, alliance.unit, "联盟")
    _require_org(actor, org, "社团")
    if join_method not in JoinMethod.values:
        raise ValidationError("加盟方式无效（主动建设、整体吸纳、重新组建、引导争取）")
    if not _in_alliance_area(alliance, org):
        raise ValidationError(f"“{org.name}”不在“{alliance.unit.name}”范围内，不能加入该联盟")
    if not org.is_active:
        raise ValidationError(f"“{org.name}”已停止活动，不能加入联盟")
    if alliance.members.filter(organization=org).exists():
        raise ValidationError(f"“{org.name}”已是该联盟成员")
    joined_on = joined_on or _today()
    _check_date(joined_on, "加盟日期")
    member = AllianceMember.objects.create(
        alliance=alliance, organization=org, join_method=join_method, joined_on=joined_on
    )
    record(
        actor,
        "create",
        member,
        unit=alliance.unit,
        details={"alliance": alliance.pk, "organization": org.pk, "join_method": join_method},
    )
    return member


@transaction.atomic
def update_alliance_member(
    member: AllianceMember, *, join_method: str, joined_on: date, actor=None
) -> AllianceMember:
    _require_unit(actor, member.alliance.unit, "联盟")
    if join_method not in JoinMethod.values:
        raise ValidationError("加盟方式无效（主动建设、整体吸纳、重新组建、引导争取）")
    _check_date(joined_on, "加盟日期")
    before = {"join_method": member.join_method, "joined_on": member.joined_on.isoformat()}
    member.join_method, member.joined_on = join_method, joined_on
    member.save(update_fields=["join_method", "joined_on"])
    after = {"join_method": join_method, "joined_on": joined_on.isoformat()}
    record(actor, "update", member, unit=member.alliance.unit, details={"changes": diff(before, after)})
    return member


@transaction.atomic
def remove_alliance_member(member: AllianceMember, *, actor=None) -> None:
    alliance = member.alliance
    _require_unit(actor, alliance.unit, "联盟")
    if alliance.leader_id == member.organization_id:
        raise ValidationError("盟主社团不能移出联盟，请先更换盟主")
    if member.is_council:
        size = alliance.members.filter(is_council=True).count()
        if size - 1 < COUNCIL_MIN:
            raise ValidationError(
                f"理事会至少需要{COUNCIL_MIN}家理事社团，移出“{member.organization.name}”后只剩{size - 1}家；"
                "请先调整理事会"
            )
    future = DutyAssignment.objects.filter(
        alliance=alliance, organization=member.organization, month__gte=first_of_month(_today())
    )
    cleared = [d.month.isoformat() for d in future]
    future.delete()
    record(
        actor,
        "delete",
        member,
        unit=alliance.unit,
        details={
            "alliance": alliance.pk,
            "organization": member.organization_id,
            "duty_months_cleared": cleared,
        },
    )
    member.delete()


def council_size_error(size: int) -> str | None:
    if COUNCIL_MIN <= size <= COUNCIL_MAX:
        return None
    return f"理事会应由{COUNCIL_MIN}至{COUNCIL_MAX}家成员社团组成，当前选择了{size}家"


@transaction.atomic
def set_council(alliance: Alliance, organizations: list[Organization], *, actor=None) -> list[AllianceMember]:
    """Make exactly ``organizations`` (in duty-rotation order) the council: 6 to 21 member societies."""
    _require_unit(actor, alliance.unit, "联盟")
    ids = []
    for org in organizations:
        if org.pk not in ids:
            ids.append(org.pk)
    message = council_size_error(len(ids))
    if message:
        raise ValidationError(message)
    members = {m.organization_id: m for m in alliance.members.select_related("organization")}
    outsiders = [org.name for org in organizations if org.pk not in members]
    if outsiders:
        raise ValidationError(f"理事社团必须先加入联盟：{'、'.join(outsiders)}")
    if alliance.leader_id and alliance.leader_id not in ids:
        raise ValidationError(f"盟主社团“{alliance.leader.name}”必须在理事会中")
    before = [m.organization_id for m in alliance.council()]
    for member in members.values():
        member.is_council = member.organization_id in ids
        member.council_order = ids.index(member.organization_id) + 1 if member.is_council else 0
    AllianceMember.objects.bulk_update(members.values(), ["is_council", "council_order"])
    record(actor, "update", alliance, details={"council": {"before": before, "after": ids}})
    return list(alliance.council())


# --- Monthly rotating duty (活动轮值) ------------------------------------------------------------------


@transaction.atomic
def generate_duty_schedule(
    alliance: Alliance, *, start: date | None = None, months: int = 12, replace: bool = False, actor=None
) -> int:
    """Assign ``months`` months from ``start`` (default: this month) to the council societies in turn.

    The rotation continues after the society that held the last month before ``start``. Months
    already assigned are kept (and the turn moves on from them) unless ``replace``. Returns the
    number of months written.
    """
    _require_unit(actor, alliance.unit, "联盟")
    council = [m.organization_id for m in alliance.council()]
    if len(council) < COUNCIL_MIN:
        raise ValidationError(f"请先组建理事会（{COUNCIL_MIN}至{COUNCIL_MAX}家理事社团），再生成轮值表")
    if not 1 <= months <= 36:
        raise ValidationError("轮值表一次可生成1至36个月")
    start = first_of_month(start or _today())
    previous = (
        DutyAssignment.objects.filter(alliance=alliance, month__lt=start)
        .order_by("-month")
        .values_list("organization_id", flat=True)
        .first()
    )
    turn = council.index(previous) + 1 if previous in council else 0
    existing = {d.month: d for d in DutyAssignment.objects.filter(alliance=alliance, month__gte=start)}
    written = 0
    for i in range(months):
        month = add_months(start, i)
        current = existing.get(month)
        if current is not None and not replace:
            if current.organization_id in council:
                turn = council.index(current.organization_id) + 1
            continue
        org_id = council[turn % len(council)]
        turn += 1
        if current is not None:
            if current.organization_id != org_id:
                current.organization_id = org_id
                current.save(update_fields=["organization"])
                written += 1
        else:
            DutyAssignment.objects.create(alliance=alliance, month=month, organization_id=org_id)
            written += 1
    record(
        actor,
        "update",
        alliance,
        details={
            "duty_schedule": {
                "start": start.isoformat(),
                "months": months,
                "replace": replace,
                "written": written,
            }
        },
    )
    return written


@transaction.atomic
def assign_duty(
    alliance: Alliance, month: date, org: Organization, *, theme: str = "", actor=None
) -> DutyAssignment:
    """Set (or change) the duty society of one month; it must sit on the council."""
    _require_unit(actor, alliance.unit, "联盟")
    month = first_of_month(month)
    if not alliance.members.filter(organization=org, is_council=True).exists():
        raise ValidationError(f"“{org.name}”不是理事社团，不能承担轮值")
    theme = " ".join((theme or "").split())[:200]
    duty = DutyAssignment.objects.filter(alliance=alliance, month=month).first()
    before = {"organization": duty.organization_id, "theme": duty.theme} if duty else {}
    if duty is None:
        duty = DutyAssignment.objects.create(alliance=alliance, month=month, organization=org, theme=theme)
    else:
        duty.organization, duty.theme = org, theme
        duty.save(update_fields=["organization", "theme"])
    record(
        actor,
        "update",
        alliance,
        details={
            "duty": month.strftime("%Y-%m"),
            "changes": diff(before, {"organization": org.pk, "theme": theme}),
        },
    )
    return duty


@transaction.atomic
def clear_duty(duty: DutyAssignment, *, actor=None) -> None:
    alliance = duty.alliance
    _require_unit(actor, alliance.unit, "联盟")
    record(
        actor,
        "update",
        alliance,
        details={"duty": duty.month.strftime("%Y-%m"), "cleared": duty.organization_id},
    )
    duty.delete()


@dataclass
class DutyMonth:
    month: date
    duty: DutyAssignment | None
    #: "future", "current", "held", "missed", "unknown", "unassigned", "off_council"
    state: str
    activities: list = field(default_factory=list)

    @property
    def warning(self) -> bool:
        return self.state in ("missed", "unassigned", "off_council")


def duty_board(alliance: Alliance, *, start: date | None = None, months: int = 12, today: date | None = None):
    """The schedule from ``start`` (default: three months ago) with each month's state.

    A past month whose duty society held no activity is ``missed`` (a warning); while no
    activity source is registered past months are ``unknown`` instead.
    """
    today = today or _today()
    this_month = first_of_month(today)
    start = first_of_month(start or add_months(this_month, -3))
    end = add_months(start, months)
    duties = {
        d.month: d
        for d in alliance.duties.filter(month__gte=start, month__lt=end).select_related("organization")
    }
    council = set(alliance.members.filter(is_council=True).values_list("organization_id", flat=True))
    rows = []
    for i in range(months):
        month = add_months(start, i)
        duty = duties.get(month)
        if duty is None:
            state = "unassigned" if month <= add_months(this_month, 2) else "future"
            rows.append(DutyMonth(month, None, state))
            continue
        if duty.organization_id not in council and month >= this_month:
            rows.append(DutyMonth(month, duty, "off_council"))
            continue
        if month > this_month:
            rows.append(DutyMonth(month, duty, "future"))
            continue
        held = hooks.held_in_month([duty.organization_id], month)
        activities = (held or {}).get(duty.organization_id, [])
        if held is None:
            state = "unknown" if month < this_month else "current"
        elif activities:
            state = "held"
        else:
            state = "missed" if month < this_month else "current"
        rows.append(DutyMonth(month, duty, state, activities))
    return rows


# --- Joint meetings (联席会议) -------------------------------------------------------------------------

MEETING_FIELDS = ["held_on", "status", "title", "location", "minutes", "decisions"]


@transaction.atomic
def save_meeting(
    meeting: JointMeeting, *, data: dict, attendees: list[Organization] | None = None, actor=None
) -> JointMeeting:
    """Schedule (status planned) or record (status held, with attendance, minutes and decisions) a meeting."""
    alliance = meeting.alliance
    _require_unit(actor, alliance.unit, "联盟")
    creating = meeting.pk is None
    for name, value in data.items():
        if name not in MEETING_FIELDS:
            raise ValueError(f"not editable: {name}")
        setattr(meeting, name, value)
    problems: dict[str, list[str]] = {}
    if meeting.held_on is None:
        problems["held_on"] = ["请填写会议日期"]
    elif meeting.status == MeetingStatus.HELD and meeting.held_on > _today():
        problems["held_on"] = ["已召开的会议日期不能晚于今天"]
    if meeting.status == MeetingStatus.HELD:
        if not (meeting.minutes or "").strip():
            problems["minutes"] = ["记录已召开的联席会议时请填写会议纪要"]
        if not attendees:
            problems["attendees"] = ["请勾选出席会议的理事社团"]
    if attendees:
        council = set(alliance.members.filter(is_council=True).values_list("organization_id", flat=True))
        strangers = [org.name for org in attendees if org.pk not in council]
        if strangers:
            problems["attendees"] = [f"出席单位须为理事社团：{'、'.join(strangers)}"]
    if problems:
        raise ValidationError(problems)
    meeting.title = " ".join((meeting.title or "").split()) or f"{meeting.quarter_label}联席会议"
    meeting.full_clean()
    meeting.save()
    if attendees is not None:
        meeting.attendees.set(attendees)
    record(
        actor,
        "create" if creating else "update",
        meeting,
        unit=alliance.unit,
        details={
            "alliance": alliance.pk,
            "held_on": meeting.held_on.isoformat(),
            "status": meeting.status,
            "attendees": [org.pk for org in attendees] if attendees is not None else None,
        },
    )
    return meeting


@dataclass
class QuarterRow:
    start: date
    meetings: list
    #: "ok" (a meeting was held), "missing" (a past quarter without one), "due" (this quarter, none
    #: held yet), "planned" (this or a later quarter with one scheduled), "upcoming"
    state: str

    @property
    def label(self) -> str:
        return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"

    @property
    def warning(self) -> bool:
        return self.state == "missing"


def meeting_quarters(alliance: Alliance, *, today: date | None = None, ahead: int = 1) -> list[QuarterRow]:
    """Every quarter from the alliance's founding to ``ahead`` quarters after this one, newest first."""
    today = today or _today()
    current = quarter_start(today)
    first = quarter_start(alliance.founded_on or today)
    meetings = list(alliance.meetings.exclude(status=MeetingStatus.CANCELLED).order_by("held_on"))
    rows = []
    start = first
    last = add_months(current, 3 * ahead)
    while start <= last:
        end = add_months(start, 3)
        inside = [m for m in meetings if start <= m.held_on < end]
        held = any(m.status == MeetingStatus.HELD for m in inside)
        if held:
            state = "ok"
        elif start < current:
            state = "missing"
        elif inside:
            state = "planned"
        else:
            state = "due" if start == current else "upcoming"
        rows.append(QuarterRow(start, inside, state))
        start = end
    return list(reversed(rows))


@dataclass
class AllianceHealth:
    council_size: int
    council_ok: bool
    missing_quarters: list
    duty_warnings: list

    @property
    def warnings(self) -> int:
        return (0 if self.council_ok else 1) + len(self.missing_quarters) + len(self.duty_warnings)


def alliance_health(alliance: Alliance, *, today: date | None = None) -> AllianceHealth:
    today = today or _today()
    size = alliance.members.filter(is_council=True).count()
    quarters = [q for q in meeting_quarters(alliance, today=today, ahead=0) if q.warning]
    duties = [row for row in duty_board(alliance, today=today) if row.warning]
    return AllianceHealth(size, council_size_error(size) is None, quarters, duties)


def alliance_counts(alliances) -> dict[int, dict]:
    """Members and council size per alliance (one grouped query)."""
    rows = (
        AllianceMember.objects.filter(alliance__in=alliances.values("pk"))
        .values("alliance_id")
        .annotate(members=Count("pk"), council=Count("pk", filter=Q(is_council=True)))
        .order_by()
    )
    return {row["alliance_id"]: row for row in rows}
