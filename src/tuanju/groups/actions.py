"""Domain operations on tower groups, communities and credit records.

Views, the API, commands and the demo generator call these; each validates, writes and
audit-logs. The tower operations (``build_towers``, ``place_people``) work on whole subtrees
through the databases' bulk paths: a 37,074-group tower and a million memberships are a few
bulk statements, not a million ``save()`` calls.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from tuanju.audit.actions import record
from tuanju.core.bulk import insert_rows
from tuanju.hierarchy.models import TOWER_LEVELS, OrgUnit
from tuanju.imports import normalize
from tuanju.people import actions as people_actions
from tuanju.people.importing import person_name
from tuanju.people.models import Person, Source

from .models import (
    ROBOT_PLATFORMS,
    BlacklistEntry,
    ChatGroup,
    Community,
    CommunityCategory,
    CommunityMember,
    CommunityRole,
    CreditKind,
    CreditRecord,
    GroupKind,
    GroupLiaison,
    GroupMember,
    JoinSource,
    MemberSource,
    MemberStatus,
    RobotStatus,
    new_nonce,
)

STEP = OrgUnit.steplen
#: Rows per bulk statement / COPY batch.
BATCH = 20_000
#: Ids per ``IN (…)`` list (well under SQLite's variable limit).
ID_CHUNK = 5_000


def _db_now():
    """Now, in the form the database driver takes for a DateTimeField (as bulk_insert does)."""
    return connection.ops.adapt_datetimefield_value(timezone.now())


@contextmanager
def bulk_session():
    """On SQLite, a larger page cache while a bulk write runs (indexes of a million rows do not fit
    the 2 MB default and every random insert would go to the OS); a no-op on PostgreSQL."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -262144")  # 256 MB
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def raw_rows(queryset, size: int = BATCH):
    """The rows of a ``values_list`` queryset as the driver returns them, in chunks from a
    server-side cursor on PostgreSQL: no per-row ORM conversion, for million-row reads."""
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(size):
            yield from chunk


def analyze(*models) -> None:
    """Refresh PostgreSQL's statistics after a bulk write (autovacuum gets there later; the next
    queries should not be planned for the empty table it last saw). A no-op on SQLite."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _chunks(items: list, size: int = ID_CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- Tower build ---------------------------------------------------------------------------------

#: The columns a bulk-inserted group gets: every concrete ChatGroup column but the primary key.
_GROUP_COLUMNS = (
    "unit_id",
    "kind",
    "name",
    "parent_id",
    "ref_type",
    "ref_id",
    "platform",
    "external_id",
    "external_name",
    "webhook_url_enc",
    "webhook_secret_enc",
    "webhook_hint",
    "robot_status",
    "robot_error",
    "robot_checked_at",
    "owner_user_id",
    "owner_person_id",
    "member_count",
    "placed_count",
    "liaison_count",
    "last_activity_at",
    "notes",
    "created_at",
    "updated_at",
)
_MEMBER_COLUMNS = ("group_id", "person_id", "joined_on", "source", "is_primary")


def _check_columns(model, expected: tuple[str, ...]) -> tuple[str, ...]:
    columns = {f.column for f in model._meta.concrete_fields if not f.primary_key}
    if columns != set(expected):
        raise ImproperlyConfigured(
            f"{model.__name__}'s columns changed ({', '.join(sorted(columns))}); update the bulk insert."
        )
    return expected


def tower_group_name(chain: list[str]) -> str:
    """'华新社区·锦绣小区·1幢1单元青年群' from the tower units' names, top to bottom."""
    return ("·".join(chain) + "青年群")[:100]


@dataclass
class BuildResult:
    unit_code: str
    created: int = 0
    existing: int = 0
    relinked: int = 0
    created_by_level: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _tower_ancestors(unit: OrgUnit) -> list[tuple[int, str, str]]:
    """(pk, path, name) of the tower-level units above ``unit`` (for names and parent links)."""
    paths = [unit.path[: i * STEP] for i in range(1, unit.depth)]
    return list(
        OrgUnit.objects.filter(path__in=paths, level__in=TOWER_LEVELS)
        .order_by("depth")
        .values_list("pk", "path", "name")
    )


def _tower_groups_by_path(unit: OrgUnit, ancestors) -> dict[str, int]:
    groups = dict(
        ChatGroup.objects.towers().filter(unit__path__startswith=unit.path).values_list("unit__path", "pk")
    )
    if ancestors:
        groups.update(
            ChatGroup.objects.towers()
            .filter(unit_id__in=[pk for pk, _path, _name in ancestors])
            .values_list("unit__path", "pk")
        )
    return groups


def build_towers(unit: OrgUnit, *, actor=None) -> BuildResult:
    """Create a tower group for every tier-1/2/3 unit of ``unit``'s subtree that has none.

    Idempotent: existing groups are kept (with their name, members and robot), missing ones are
    inserted level by level so that each new group is linked to its parent unit's group at
    once, and groups whose parent link is missing or wrong are re-linked. A concurrent build of
    the same subtree fails on the one-group-per-unit constraint instead of doubling groups.
    """
    started = time.perf_counter()
    result = BuildResult(unit.code)
    columns = _check_columns(ChatGroup, _GROUP_COLUMNS)
    with transaction.atomic():
        units = list(
            OrgUnit.objects.filter(path__startswith=unit.path, level__in=TOWER_LEVELS)
            .order_by("depth", "path")
            .values_list("pk", "path", "name", "level")
        )
        ancestors = _tower_ancestors(unit)
        names = {path: name for _pk, path, name in ancestors} | {path: name for _pk, path, name, _lv in units}
        by_path = _tower_groups_by_path(unit, ancestors)
        result.existing = sum(1 for _pk, path, _n, _lv in units if path in by_path)
        now = _db_now()
        by_level: dict[str, list] = defaultdict(list)
        for pk, path, _name, level in units:
            if path not in by_path:
                by_level[level].append((pk, path))
        for level in TOWER_LEVELS:  # top-down: a level's parents exist before it is inserted
            pending = by_level.get(level, [])
            if not pending:
                continue
            rows = []
            for pk, path in pending:
                chain = [names[path[:i]] for i in range(STEP, len(path) + 1, STEP) if path[:i] in names]
                row = dict.fromkeys(columns, None)
                row.update(
                    unit_id=pk,
                    kind=GroupKind.TOWER.value,
                    name=tower_group_name(chain),
                    parent_id=by_path.get(path[:-STEP]),
                    ref_type="",
                    platform="wechat",
                    external_id="",
                    external_name="",
                    webhook_hint="",
                    robot_status="",
                    robot_error="",
                    member_count=0,
                    placed_count=0,
                    liaison_count=0,
                    notes="",
                    created_at=now,
                    updated_at=now,
                )
                rows.append(tuple(row[c] for c in columns))
            with connection.wrap_database_errors:
                for chunk in _chunks(rows, BATCH):
                    insert_rows(ChatGroup._meta.db_table, columns, chunk)
            by_path.update(
                ChatGroup.objects.towers()
                .filter(unit__path__startswith=unit.path, unit__level=level)
                .values_list("unit__path", "pk")
            )
            result.created_by_level[str(level)] = len(rows)
            result.created += len(rows)
        result.relinked = _relink(unit, by_path)
        if result.created > 1000:
            analyze(ChatGroup)
        record(
            actor,
            "build_towers",
            unit,
            details={
                "created": result.created,
                "existing": result.existing,
                "relinked": result.relinked,
                "by_level": result.created_by_level,
            },
        )
    result.seconds = time.perf_counter() - started
    return result


def _relink(unit: OrgUnit, by_path: dict[str, int]) -> int:
    """Point each tower group of the subtree at its parent unit's group (where that exists)."""
    wrong: dict[int | None, list[int]] = defaultdict(list)
    rows = (
        ChatGroup.objects.towers()
        .filter(unit__path__startswith=unit.path)
        .values_list("pk", "unit__path", "parent_id")
    )
    for pk, path, parent_id in rows:
        expected = by_path.get(path[:-STEP])
        if expected is not None and expected != parent_id:
            wrong[expected].append(pk)
    count = 0
    for parent_id, pks in wrong.items():
        for chunk in _chunks(pks):
            count += ChatGroup.objects.filter(pk__in=chunk).update(parent_id=parent_id)
    return count


@dataclass
class PlaceResult:
    unit_code: str
    placed: int = 0
    already: int = 0
    without_group: int = 0
    new_home: int = 0
    groups_touched: int = 0
    seconds: float = 0.0


def place_people(unit: OrgUnit, *, actor=None, source: str = MemberSource.PLACED) -> PlaceResult:
    """Put every roster person of ``unit``'s subtree into the tower group of their unit.

    A person registered at a unit without a group of its own goes to the nearest tower group
    above it; people registered above the tower levels (a town, a county) have no tower group
    and are counted as ``without_group``. Re-running adds only what is missing. A person's
    first group becomes their home group (``is_primary``), which coverage counts once.
    """
    started = time.perf_counter()
    result = PlaceResult(unit.code)
    ancestors = _tower_ancestors(unit)
    by_path = _tower_groups_by_path(unit, ancestors)
    target_cache: dict[str, int | None] = {}

    def target(path: str) -> int | None:
        found = target_cache.get(path, -1)
        if found != -1:
            return found
        probe = path
        group = None
        while len(probe) >= STEP:
            group = by_path.get(probe)
            if group is not None:
                break
            probe = probe[:-STEP]
        target_cache[path] = group
        return group

    # One read of the people of the subtree who are not yet in the tower group of their own unit
    # (an anti-join on the (person, group) index: on a re-run, almost nobody), each with whether
    # they already have a home group (the partial index of home memberships). Fetched in chunks
    # from a server-side cursor, without the ORM's per-row conversions: up to a million rows.
    subtree = Person.objects.filter(unit__path__startswith=unit.path)
    in_own = GroupMember.objects.filter(
        person=OuterRef("pk"), group__unit=OuterRef("unit"), group__kind=GroupKind.TOWER
    )
    home = GroupMember.objects.filter(person=OuterRef("pk"), is_primary=True)
    people = (
        subtree.filter(~Exists(in_own))
        .annotate(has_home=Exists(home))
        .order_by("pk")
        .values_list("pk", "unit__path", "has_home")
    )
    today = connection.ops.adapt_datefield_value(timezone.localdate())  # the driver's form, once
    source = str(source)
    rows: list[tuple] = []
    above: list[tuple[int, int, bool]] = []  # people placed in a group above their own unit's
    read = 0
    for pk, path, has_home in raw_rows(people):
        read += 1
        own = by_path.get(path)
        if own is not None:
            rows.append((own, pk, today, source, not has_home))
            continue
        group = target(path)
        if group is None:
            result.without_group += 1
        else:
            above.append((pk, group, not has_home))
    result.already = subtree.count() - read
    for chunk in _chunks(above):
        there = set(
            GroupMember.objects.filter(
                person_id__in=[pk for pk, _g, _h in chunk], group_id__in={g for _pk, g, _h in chunk}
            ).values_list("person_id", "group_id")
        )
        for pk, group, new_home in chunk:
            if (pk, group) in there:
                result.already += 1
            else:
                rows.append((group, pk, today, source, new_home))
    if above:
        rows.sort(key=lambda row: row[1])  # by person, as the people's indexes are ordered
    added: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for group, _pk, _day, _source, new_home in rows:
        counts = added[group]
        counts[0] += 1
        counts[1] += new_home
        result.new_home += new_home
    result.placed = len(rows)
    result.groups_touched = len(added)
    if rows:
        with transaction.atomic(), bulk_session(), connection.wrap_database_errors:
            for chunk in _chunks(rows, BATCH):
                insert_rows(GroupMember._meta.db_table, _MEMBER_COLUMNS, chunk)
            _bump_counts(added)
        if len(rows) > 10_000:
            analyze(GroupMember, ChatGroup)
    record(
        actor,
        "place_people",
        unit,
        details={
            "placed": result.placed,
            "already": result.already,
            "without_group": result.without_group,
            "groups": result.groups_touched,
        },
    )
    result.seconds = time.perf_counter() - started
    return result


def _bump_counts(added: dict[int, list[int]]) -> None:
    """Add (members, home members) to each group's counters and mark its last activity, in one batch."""
    table = connection.ops.quote_name(ChatGroup._meta.db_table)
    now = _db_now()
    params = [(members, home, now, now, group) for group, (members, home) in added.items()]
    sql = (
        f"UPDATE {table} SET member_count = member_count + %s, placed_count = placed_count + %s,"  # noqa: S608
        " last_activity_at = %s, updated_at = %s WHERE id = %s"
    )
    with connection.cursor() as cursor:
        for chunk in _chunks(params, BATCH):
            cursor.executemany(sql, chunk)


def bulk_add_members(pairs: list[tuple[int, int]], *, source: str = MemberSource.IMPORT, actor=None) -> int:
    """Add many (group id, person id) memberships at once (imports, the tower's relay chain).

    Pairs already present are skipped; a person without a home group gets this one as home.
    """
    pairs = sorted(set(pairs), key=lambda pair: (pair[1], pair[0]))
    if not pairs:
        return 0
    people = sorted({person for _group, person in pairs})
    there: set[tuple[int, int]] = set()
    homes: set[int] = set()
    for chunk in _chunks(people):
        for person, group, primary in GroupMember.objects.filter(person_id__in=chunk).values_list(
            "person_id", "group_id", "is_primary"
        ):
            there.add((group, person))
            if primary:
                homes.add(person)
    today = timezone.localdate()
    rows, added = [], defaultdict(lambda: [0, 0])
    for group, person in pairs:
        if (group, person) in there:
            continue
        home = person not in homes
        homes.add(person)
        rows.append((group, person, today, str(source), home))
        added[group][0] += 1
        added[group][1] += home
    with transaction.atomic(), bulk_session(), connection.wrap_database_errors:
        for chunk in _chunks(rows, BATCH):
            insert_rows(GroupMember._meta.db_table, _MEMBER_COLUMNS, chunk)
        _bump_counts(added)
    record(actor, "update", None, details={"bulk": "group_members", "added": len(rows), "groups": len(added)})
    return len(rows)


_LIAISON_COLUMNS = ("group_id", "user_id", "person_id", "note", "since", "added_by_id")


def bulk_add_liaisons(
    entries: list[tuple[int, int | None, int | None]], *, note: str = "", make_owner: bool = False, actor=None
) -> int:
    """Add many (group id, user id, person id) liaisons at once; with ``make_owner`` each also becomes
    the owner of a group that has none. Entries already present are skipped."""
    existing: set[tuple] = set()
    for chunk in _chunks(sorted({entry[0] for entry in entries})):
        existing.update(
            GroupLiaison.objects.filter(group_id__in=chunk).values_list("group_id", "user_id", "person_id")
        )
    today = timezone.localdate()
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    rows, per_group, owners = [], defaultdict(int), {}
    for group, user, person in dict.fromkeys(entries):
        if (user is None) == (person is None) or (group, user, person) in existing:
            continue
        rows.append((group, user, person, note[:100], today, actor_id))
        per_group[group] += 1
        owners.setdefault(group, (user, person))
    table = connection.ops.quote_name(ChatGroup._meta.db_table)
    with transaction.atomic(), connection.wrap_database_errors:
        for chunk in _chunks(rows, BATCH):
            insert_rows(GroupLiaison._meta.db_table, _LIAISON_COLUMNS, chunk)
        with connection.cursor() as cursor:
            params = [(n, group) for group, n in per_group.items()]
            for chunk in _chunks(params, BATCH):
                sql = f"UPDATE {table} SET liaison_count = liaison_count + %s WHERE id = %s"  # noqa: S608
                cursor.executemany(sql, chunk)
            if make_owner:
                params = [(user, person, group) for group, (user, person) in owners.items()]
                for chunk in _chunks(params, BATCH):
                    cursor.executemany(
                        f"UPDATE {table} SET owner_user_id = %s, owner_person_id = %s"  # noqa: S608
                        " WHERE id = %s AND owner_user_id IS NULL AND owner_person_id IS NULL",
                        chunk,
                    )
    record(actor, "create", None, details={"bulk": "liaisons", "added": len(rows), "groups": len(per_group)})
    return len(rows)


def bulk_set_mirrors(entries: list[tuple[int, str, str, str]], *, actor=None) -> int:
    """Set (group id, platform, external name, robot webhook URL or "") on many groups at once
    (an import of the platform's group list); webhooks are encrypted like ``update_group`` does."""
    from tuanju.core.crypto import cipher

    from .models import webhook_hint

    c = cipher()
    table = connection.ops.quote_name(ChatGroup._meta.db_table)
    now = _db_now()
    params = []
    for group, platform, external_name, url in entries:
        url = _check_webhook(platform, url) if url else ""
        params.append(
            (
                platform,
                external_name[:100],
                c.encrypt(url) if url else None,
                webhook_hint(url),
                RobotStatus.OK.value if url else "",
                now,
                group,
            )
        )
    sql = (
        f"UPDATE {table} SET platform = %s, external_name = %s, webhook_url_enc = %s,"  # noqa: S608
        " webhook_hint = %s, robot_status = %s, updated_at = %s WHERE id = %s"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for chunk in _chunks(params, BATCH):
            cursor.executemany(sql, chunk)
    record(actor, "update", None, details={"bulk": "group_mirrors", "groups": len(params)})
    return len(params)


def recount_groups(groups) -> int:
    """Recompute the size, home-member and liaison counters of ``groups`` from the rows (repair)."""

    def counted(model, **filters):
        return Coalesce(
            Subquery(
                model.objects.filter(group=OuterRef("pk"), **filters)
                .order_by()
                .values("group")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            Value(0),
        )

    return groups.update(
        member_count=counted(GroupMember),
        placed_count=counted(GroupMember, is_primary=True),
        liaison_count=counted(GroupLiaison),
    )


@transaction.atomic
def merge_tower_groups(source: OrgUnit, into: OrgUnit, *, actor=None) -> int:
    """Before two units are merged: fold the source unit's tower group into the target's.

    ``hierarchy.actions.merge_units`` re-points every foreign key from the source unit to the
    target; with a tower group on both, that would give the target two tower groups (refused by
    the one-group-per-unit constraint). Members and liaisons move to the target's group (people
    already there are not doubled), the groups below are re-linked, and the source's group is
    deleted. Returns the members moved. Nothing to do when either unit has no tower group.
    """
    old = ChatGroup.objects.towers().filter(unit=source).first()
    new = ChatGroup.objects.towers().filter(unit=into).first()
    if old is None or new is None:
        return 0
    there = set(GroupMember.objects.filter(group=new).values_list("person_id", flat=True))
    moving = GroupMember.objects.filter(group=old).exclude(person_id__in=there)
    moved = moving.update(group=new)
    taken_users = set(
        GroupLiaison.objects.filter(group=new, user__isnull=False).values_list("user_id", flat=True)
    )
    taken_people = set(
        GroupLiaison.objects.filter(group=new, person__isnull=False).values_list("person_id", flat=True)
    )
    GroupLiaison.objects.filter(group=old).exclude(user_id__in=taken_users).exclude(
        person_id__in=taken_people
    ).update(group=new)
    ChatGroup.objects.filter(parent=old).update(parent=new)
    details = {"from_group": old.pk, "into_group": new.pk, "members_moved": moved}
    old.delete()  # what is left: members already in the target group (signals keep the counts)
    recount_groups(ChatGroup.objects.filter(pk=new.pk))
    record(actor, "merge", new, details=details)
    return moved


# --- One group ---------------------------------------------------------------------------------------


def _touch(group: ChatGroup) -> None:
    now = timezone.now()
    ChatGroup.objects.filter(pk=group.pk).update(last_activity_at=now, updated_at=now)
    group.last_activity_at = now


def _check_webhook(platform: str, url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    if platform not in ROBOT_PLATFORMS:
        raise ValidationError(
            {"webhook_url": "微信群和QQ群没有群机器人，只有企业微信、钉钉、飞书群可以设置 Webhook"}
        )
    if len(url) > 500:
        raise ValidationError({"webhook_url": "Webhook 地址过长"})
    parts = urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ValidationError({"webhook_url": "Webhook 地址应以 https:// 开头"})
    if not parts.hostname:
        raise ValidationError({"webhook_url": "Webhook 地址不完整"})
    return url


GROUP_FIELDS = ("name", "platform", "external_id", "external_name", "notes")


@transaction.atomic
def create_group(
    unit: OrgUnit, *, kind: str, name: str, actor=None, ref_type: str = "", ref_id: int | None = None, **data
) -> ChatGroup:
    """An organization, alliance or other group (tower groups come from ``build_towers``)."""
    if kind == GroupKind.TOWER:
        raise ValidationError("塔群由“一键建群”按单位自动生成，不能手工新建")
    if kind not in GroupKind.values:
        raise ValidationError(f"未知的群类型“{kind}”")
    name = normalize.text(name)[:100]
    if not name:
        raise ValidationError({"name": "请填写群名称"})
    group = ChatGroup(unit=unit, kind=kind, name=name, ref_type=ref_type[:50], ref_id=ref_id)
    for key in ("platform", "external_id", "external_name", "notes"):
        if key in data:
            setattr(group, key, normalize.text(data[key]) if key != "platform" else data[key])
    webhook = _check_webhook(group.platform, data.get("webhook_url", ""))
    if webhook:
        group.set_webhook(webhook, data.get("webhook_secret") or "")
    group.full_clean(
        exclude=["webhook_url_enc", "webhook_secret_enc", "parent", "owner_user", "owner_person"]
    )
    group.save()
    record(actor, "create", group, details={"kind": kind, "name": name, "ref": [ref_type, ref_id]})
    return group


@transaction.atomic
def update_group(
    group: ChatGroup,
    *,
    data: dict,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    clear_webhook: bool = False,
    actor=None,
) -> ChatGroup:
    """Change the mirror of the external group. ``webhook_url``/``webhook_secret`` of None keep the
    stored (encrypted) values; they are never echoed back, and the audit log records only whether
    they changed."""
    before = {k: getattr(group, k) for k in GROUP_FIELDS}
    for key in GROUP_FIELDS:
        if key in data:
            value = data[key]
            setattr(group, key, value if key == "platform" else normalize.text(value))
    if not group.name:
        raise ValidationError({"name": "请填写群名称"})
    robot = "kept"
    if clear_webhook:
        group.set_webhook(None)
        robot = "cleared"
    elif webhook_url:
        group.set_webhook(_check_webhook(group.platform, webhook_url), webhook_secret)
        robot = "set"
    elif webhook_secret and group.has_robot:
        group.set_webhook(group.reveal_webhook_url(), webhook_secret)
        robot = "secret set"
    elif group.has_robot and group.platform not in ROBOT_PLATFORMS:
        raise ValidationError({"platform": "该平台没有群机器人；请先清除 Webhook 再更改平台"})
    group.full_clean(
        exclude=["webhook_url_enc", "webhook_secret_enc", "parent", "owner_user", "owner_person"]
    )
    group.save()
    after = {k: getattr(group, k) for k in GROUP_FIELDS}
    changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    record(actor, "update", group, details={"changes": changes, "robot": robot})
    return group


def mark_robot(group: ChatGroup, *, ok: bool, error: str = "") -> None:
    """Record the outcome of a delivery to the group's robot (for the delivery adapters)."""
    ChatGroup.objects.filter(pk=group.pk).update(
        robot_status=RobotStatus.OK if ok else RobotStatus.FAILING,
        robot_error="" if ok else error[:300],
        robot_checked_at=timezone.now(),
    )


@transaction.atomic
def set_owner(group: ChatGroup, *, user=None, person: Person | None = None, actor=None) -> ChatGroup:
    if user is not None and person is not None:
        raise ValidationError("群主只能是一名工作人员或一名青年")
    group.owner_user, group.owner_person = user, person
    group.save(update_fields=["owner_user", "owner_person", "updated_at"])
    record(
        actor,
        "update",
        group,
        details={"owner": {"user": getattr(user, "pk", None), "person": getattr(person, "pk", None)}},
    )
    return group


def _liaison_exists(group, user, person) -> bool:
    if user is not None:
        return GroupLiaison.objects.filter(group=group, user=user).exists()
    return GroupLiaison.objects.filter(group=group, person=person).exists()


@transaction.atomic
def add_liaison(
    group: ChatGroup, *, user=None, person: Person | None = None, note: str = "", actor=None
) -> GroupLiaison:
    if (user is None) == (person is None):
        raise ValidationError("请选择一名工作人员或一名青年作为联络员")
    if user is not None and not user.is_active:
        raise ValidationError("该账号已停用")
    if _liaison_exists(group, user, person):
        raise ValidationError("已是该群的联络员")
    liaison = GroupLiaison.objects.create(
        group=group, user=user, person=person, note=normalize.text(note)[:100], added_by=actor
    )
    ChatGroup.objects.filter(pk=group.pk).update(liaison_count=F("liaison_count") + 1)
    _touch(group)
    record(
        actor,
        "create",
        liaison,
        unit=group.unit,
        details={"group": group.pk, "liaison": liaison.display_name},
    )
    return liaison


@transaction.atomic
def remove_liaison(liaison: GroupLiaison, *, actor=None) -> None:
    group = liaison.group
    details = {"group": group.pk, "liaison": liaison.display_name}
    liaison.delete()  # the post_delete signal keeps liaison_count
    record(actor, "delete", group, details={"liaison_removed": details})


@transaction.atomic
def assign_liaison(groups, *, user=None, person: Person | None = None, note: str = "", actor=None) -> int:
    """Make one staff account or roster person a liaison of many groups (those it is not in yet)."""
    if (user is None) == (person is None):
        raise ValidationError("请选择一名工作人员或一名青年作为联络员")
    ids = list(groups.values_list("pk", flat=True))
    taken = set(
        GroupLiaison.objects.filter(
            group_id__in=ids, **({"user": user} if user else {"person": person})
        ).values_list("group_id", flat=True)
    )
    new = [i for i in ids if i not in taken]
    GroupLiaison.objects.bulk_create(
        [GroupLiaison(group_id=i, user=user, person=person, note=note[:100], added_by=actor) for i in new],
        batch_size=1000,
    )
    now = timezone.now()
    for chunk in _chunks(new):
        ChatGroup.objects.filter(pk__in=chunk).update(
            liaison_count=F("liaison_count") + 1, last_activity_at=now, updated_at=now
        )
    name = user.display_name if user else person.name
    record(actor, "create", None, details={"bulk": "liaison", "liaison": name, "groups": len(new)})
    return len(new)


@transaction.atomic
def add_group_members(
    group: ChatGroup, people: Iterable[Person], *, source: str = MemberSource.MANUAL, actor=None
) -> int:
    people = list(people)
    ids = [p.pk for p in people]
    there = set(
        GroupMember.objects.filter(group=group, person_id__in=ids).values_list("person_id", flat=True)
    )
    homes = set(
        GroupMember.objects.filter(is_primary=True, person_id__in=ids).values_list("person_id", flat=True)
    )
    today = timezone.localdate()
    new = [
        GroupMember(group=group, person_id=pk, joined_on=today, source=source, is_primary=pk not in homes)
        for pk in dict.fromkeys(ids)
        if pk not in there
    ]
    GroupMember.objects.bulk_create(new, batch_size=1000)
    if new:
        home = sum(1 for m in new if m.is_primary)
        ChatGroup.objects.filter(pk=group.pk).update(
            member_count=F("member_count") + len(new), placed_count=F("placed_count") + home
        )
        _touch(group)
    record(
        actor, "update", group, details={"members_added": [m.person_id for m in new][:200], "count": len(new)}
    )
    return len(new)


@transaction.atomic
def remove_group_member(member: GroupMember, *, actor=None) -> None:
    group, person_id = member.group, member.person_id
    member.delete()  # the post_delete signal keeps the counters and moves the home group
    _touch(group)
    record(actor, "update", group, details={"member_removed": person_id})


# --- Communities -------------------------------------------------------------------------------------

COMMUNITY_FIELDS = (
    "name",
    "category",
    "description",
    "requires_resident_id",
    "requires_approval",
    "is_open",
    "max_members",
    "absence_limit",
)


def _community_snapshot(community: Community) -> dict:
    data = {k: getattr(community, f"{k}_id" if k == "category" else k) for k in COMMUNITY_FIELDS}
    return data


@transaction.atomic
def save_community(community: Community, *, data: dict, actor=None, platform: str | None = None) -> Community:
    """Create or update a community; a new one gets its mirror messaging group (for directives)."""
    creating = community.pk is None
    before = {} if creating else _community_snapshot(community)
    for key, value in data.items():
        if key not in COMMUNITY_FIELDS and key != "unit":
            raise ValueError(f"unknown community field {key!r}")
        setattr(community, key, normalize.text(value) if key in ("name", "description") else value)
    if not community.name:
        raise ValidationError({"name": "请填写社群名称"})
    if (
        community.category_id
        and not CommunityCategory.objects.filter(pk=community.category_id, is_active=True).exists()
    ):
        raise ValidationError({"category": "该类别已停用"})
    clash = Community.objects.filter(unit=community.unit, name=community.name).exclude(pk=community.pk)
    if clash.exists():
        raise ValidationError({"name": f"{community.unit.name}已有名为“{community.name}”的社群"})
    if creating:
        community.created_by = actor if getattr(actor, "is_authenticated", False) else None
    community.full_clean(exclude=["chat_group", "created_by", "charter"])
    community.save()
    if creating:
        group = ChatGroup.objects.create(
            unit=community.unit,
            kind=GroupKind.COMMUNITY,
            name=community.name[:100],
            platform=platform or "wechat",
            ref_type="groups.community",
            ref_id=community.pk,
        )
        community.chat_group = group
        community.save(update_fields=["chat_group"])
    elif community.chat_group_id and community.chat_group.name != community.name:
        ChatGroup.objects.filter(pk=community.chat_group_id).update(name=community.name[:100])
    after = _community_snapshot(community)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    record(actor, "create" if creating else "update", community, details={"changes": changes})
    return community


@transaction.atomic
def update_charter(community: Community, *, text: str, actor=None) -> Community:
    """A changed charter gets a new version; joiners accept the version they were shown."""
    text = (text or "").strip()
    if len(text) > 10_000:
        raise ValidationError({"charter": "公约不能超过一万字"})
    if text == community.charter:
        return community
    community.charter = text
    community.charter_version += 1
    community.charter_updated_at = timezone.now()
    community.save(update_fields=["charter", "charter_version", "charter_updated_at", "updated_at"])
    record(actor, "update", community, details={"charter_version": community.charter_version})
    return community


@transaction.atomic
def reset_invites(community: Community, *, actor=None) -> Community:
    """Revoke every invite link and QR code issued so far."""
    community.invite_nonce = new_nonce()
    community.save(update_fields=["invite_nonce", "updated_at"])
    record(actor, "update", community, details={"invites": "reset"})
    return community


class JoinRefused(Exception):
    """A join the rules do not allow; ``message`` is shown to the young person (Chinese)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class JoinResult:
    member: CommunityMember
    outcome: str  # joined | pending | already_member | already_pending
    new_person: bool = False


BLACKLISTED_MESSAGE = "你已被列入本社群黑名单，不能加入。如有疑问，请联系群主。"


def parse_join_fields(community: Community, *, name: str, phone: str, resident_id: str) -> dict:
    """Validate the H5 form's fields with the roster's own parsers; raises JoinRefused per field."""
    try:
        name = person_name(name)
    except normalize.CellError as exc:
        raise JoinRefused(str(exc), "name") from exc
    if not name:
        raise JoinRefused("请填写姓名", "name")
    if len(name) > 50:
        raise JoinRefused("姓名过长", "name")
    try:
        phone = normalize.phone(phone)
    except normalize.CellError as exc:
        raise JoinRefused(str(exc), "phone") from exc
    if not phone:
        raise JoinRefused("请填写手机号", "phone")
    try:
        resident_id = normalize.resident_id(resident_id)
    except normalize.CellError as exc:
        raise JoinRefused(str(exc), "resident_id") from exc
    if community.requires_resident_id and not resident_id:
        raise JoinRefused("本社群实名加入，请填写身份证号", "resident_id")
    return {"name": name, "phone": phone, "resident_id": resident_id}


def _match_person(name: str, phone: str, resident_id: str):
    """The roster person these details name, by blind index (ID first, else phone and name)."""
    from tuanju.core.crypto import cipher

    c = cipher()
    if resident_id:
        person = Person.objects.filter(resident_id_bidx=c.blind_index(resident_id)).first()
        if person is not None and person.name != name:
            raise JoinRefused("姓名与身份证号不一致，请核对后重新填写", "name")
        return person
    return Person.objects.filter(phone_bidx=c.blind_index(phone), name=name).order_by("pk").first()


def _match_or_register(community: Community, fields: dict) -> tuple[Person, bool]:
    person = _match_person(fields["name"], fields["phone"], fields["resident_id"])
    if person is not None:
        if not person.phone_bidx:
            person.set_phone(fields["phone"])
            person.save(
                update_fields=["phone_enc", "phone_bidx", "phone_masked", "phone_last4", "updated_at"]
            )
        return person, False
    from tuanju.core import idcard

    number = fields["resident_id"]
    data = {"unit": community.unit, "name": fields["name"], "source": Source.COMMUNITY}
    if number:
        data.update(birth_date=idcard.birth_date(number), gender=idcard.gender(number))
    try:
        with transaction.atomic():
            person = people_actions.save_person(
                Person(), data=data, resident_id=number or None, phone=fields["phone"], actor=None
            )
    except (IntegrityError, ValidationError):
        # The same ID registered a moment ago (a double tap, a second phone): use that record.
        person = _match_person(fields["name"], fields["phone"], number)
        if person is None:
            raise
        return person, False
    return person, True


def is_blacklisted(community: Community, person: Person) -> bool:
    return BlacklistEntry.objects.in_force().filter(community=community, person=person).exists()


def _capacity_left(community: Community) -> bool:
    if not community.max_members:
        return True
    return (
        CommunityMember.objects.filter(community=community, status=MemberStatus.ACTIVE).count()
        < community.max_members
    )


def join_community(
    community: Community,
    *,
    name: str,
    phone: str,
    resident_id: str = "",
    accepted_charter: bool,
    charter_version: int | None = None,
    source: str = JoinSource.QR,
) -> JoinResult:
    """A young person joins from the H5 page or the public API (no login).

    The details are checked with the roster's rules and matched to the roster by blind index
    (resident ID, else phone + name); someone not yet registered is added with source
    “community”. The blacklist is checked against the matched person. The membership is active
    at once, or pending when the community requires approval.
    """
    if not community.is_open:
        raise JoinRefused("该社群暂停加入")
    fields = parse_join_fields(community, name=name, phone=phone, resident_id=resident_id)
    if not accepted_charter:
        raise JoinRefused("请阅读并同意社群公约", "accept")
    if charter_version is not None and charter_version != community.charter_version:
        raise JoinRefused("社群公约已更新，请重新阅读后再提交", "accept")
    with transaction.atomic():
        person, new_person = _match_or_register(community, fields)
        if not is_blacklisted(community, person):
            return _apply_to_join(community, person, new_person, source)
    # Outside the transaction, so that the refusal itself stays in the audit log.
    record(None, "join_refused", community, details={"person": person.pk, "reason": "blacklist"})
    raise JoinRefused(BLACKLISTED_MESSAGE)


def _apply_to_join(community: Community, person: Person, new_person: bool, source: str) -> JoinResult:
    now = timezone.now()
    member = CommunityMember.objects.select_for_update().filter(community=community, person=person).first()
    if member is not None and member.status == MemberStatus.ACTIVE:
        return JoinResult(member, "already_member", new_person)
    if member is not None and member.status == MemberStatus.PENDING:
        member.charter_version, member.charter_accepted_at = community.charter_version, now
        member.save(update_fields=["charter_version", "charter_accepted_at"])
        return JoinResult(member, "already_pending", new_person)
    approve_now = not community.requires_approval
    if approve_now and not _capacity_left(community):
        raise JoinRefused("社群人数已满")
    member = member or CommunityMember(community=community, person=person)
    member.role = CommunityRole.MEMBER
    member.status = MemberStatus.ACTIVE if approve_now else MemberStatus.PENDING
    member.source = source
    member.matched_roster = not new_person
    member.applied_at = now
    member.joined_at = now if approve_now else None
    member.charter_version, member.charter_accepted_at = community.charter_version, now
    member.decided_at, member.decided_by, member.decision_note = (now if approve_now else None), None, ""
    member.save()
    record(
        None,
        "join",
        member,
        unit=community.unit,
        details={
            "community": community.pk,
            "person": person.pk,
            "new_person": new_person,
            "status": member.status,
            "source": source,
        },
    )
    return JoinResult(member, "joined" if approve_now else "pending", new_person)


def _pending(members):
    return members.filter(status=MemberStatus.PENDING).select_related("community", "person")


@transaction.atomic
def approve_members(community: Community, members, *, actor) -> int:
    now = timezone.now()
    count = 0
    for member in _pending(members.filter(community=community)):
        if is_blacklisted(community, member.person):
            continue
        if not _capacity_left(community):
            raise ValidationError(f"社群人数已达上限（{community.max_members}人），已批准 {count} 人")
        member.status, member.joined_at, member.decided_at, member.decided_by = (
            MemberStatus.ACTIVE,
            now,
            now,
            actor,
        )
        member.save(update_fields=["status", "joined_at", "decided_at", "decided_by"])
        record(
            actor,
            "approve",
            member,
            unit=community.unit,
            details={"community": community.pk, "person": member.person_id},
        )
        count += 1
    return count


@transaction.atomic
def reject_members(community: Community, members, *, actor, reason: str = "") -> int:
    now = timezone.now()
    count = 0
    for member in _pending(members.filter(community=community)):
        member.status, member.decided_at, member.decided_by = MemberStatus.REJECTED, now, actor
        member.decision_note = normalize.text(reason)[:200]
        member.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        record(actor, "reject", member, unit=community.unit, details={"reason": member.decision_note})
        count += 1
    return count


@transaction.atomic
def set_role(member: CommunityMember, role: str, *, actor) -> CommunityMember:
    if role not in CommunityRole.values:
        raise ValidationError(f"未知的角色“{role}”")
    if member.status != MemberStatus.ACTIVE:
        raise ValidationError("只能为正式成员设置角色")
    before = member.role
    if role == CommunityRole.OWNER:
        (
            CommunityMember.objects.filter(
                community=member.community_id, role=CommunityRole.OWNER, status=MemberStatus.ACTIVE
            )
            .exclude(pk=member.pk)
            .update(role=CommunityRole.MEMBER)
        )
    member.role = role
    member.save(update_fields=["role"])
    record(actor, "update", member, unit=member.community.unit, details={"role": [before, role]})
    return member


@transaction.atomic
def add_community_members(
    community: Community, people: Iterable[Person], *, role: str = CommunityRole.MEMBER, actor
) -> tuple[int, list[str]]:
    """Staff add roster people directly (active at once). Returns (added, Chinese reasons for skips)."""
    added, skipped = 0, []
    now = timezone.now()
    for person in people:
        if is_blacklisted(community, person):
            skipped.append(f"{person.name}：在黑名单中")
            continue
        member = CommunityMember.objects.filter(community=community, person=person).first()
        if member is not None and member.status == MemberStatus.ACTIVE:
            skipped.append(f"{person.name}：已是成员")
            continue
        if not _capacity_left(community):
            skipped.append(f"{person.name}：社群人数已满")
            continue
        member = member or CommunityMember(community=community, person=person)
        member.status, member.source, member.role = (
            MemberStatus.ACTIVE,
            JoinSource.STAFF,
            CommunityRole.MEMBER,
        )
        member.applied_at = member.joined_at = member.decided_at = now
        member.decided_by, member.matched_roster = actor, True
        member.save()
        if role != CommunityRole.MEMBER:
            set_role(member, role, actor=actor)
        record(
            actor,
            "create",
            member,
            unit=community.unit,
            details={"community": community.pk, "person": person.pk},
        )
        added += 1
    return added, skipped


@transaction.atomic
def remove_community_member(member: CommunityMember, *, actor, reason: str = "") -> CommunityMember:
    if member.status not in (MemberStatus.ACTIVE, MemberStatus.PENDING):
        raise ValidationError("该成员已不在社群中")
    member.status, member.decided_at, member.decided_by = MemberStatus.REMOVED, timezone.now(), actor
    member.decision_note = normalize.text(reason)[:200]
    if member.role == CommunityRole.OWNER:
        member.role = CommunityRole.MEMBER
    member.save(update_fields=["status", "decided_at", "decided_by", "decision_note", "role"])
    record(
        actor,
        "update",
        member,
        unit=member.community.unit,
        details={"status": "removed", "reason": member.decision_note},
    )
    return member


# --- Credit records and the blacklist ---------------------------------------------------------------

DEFAULT_POINTS = {
    CreditKind.ATTENDED: 1,
    CreditKind.ABSENT: -1,
    CreditKind.EXCUSED: 0,
    CreditKind.BLOCKED: 0,
    CreditKind.WARNING: -1,
    CreditKind.BLACKLISTED: -5,
    CreditKind.LIFTED: 0,
    CreditKind.PRAISE: 2,
    CreditKind.NOTE: 0,
}


def record_credit(
    person: Person,
    *,
    kind: str,
    community: Community | None = None,
    unit: OrgUnit | None = None,
    reason: str = "",
    points: int | None = None,
    ref=None,
    actor=None,
    at=None,
) -> CreditRecord:
    """Append one entry to a person's credit history (the activities issue writes attendance,
    absences, excused leave and blocks through here). ``ref`` is the model instance the entry is
    about (an activity…), stored as a generic reference."""
    if kind not in CreditKind.values:
        raise ValueError(f"unknown credit kind {kind!r}")
    unit = community.unit if community is not None else unit
    if unit is None:
        raise ValueError("a credit record needs a community or a unit")
    entry = CreditRecord.objects.create(
        unit=unit,
        person=person,
        community=community,
        kind=kind,
        points=DEFAULT_POINTS[kind] if points is None else points,
        reason=normalize.text(reason)[:300],
        ref_type=ref._meta.label_lower if ref is not None else "",
        ref_id=ref.pk if ref is not None else None,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        created_at=at or timezone.now(),
    )
    record(
        actor, "credit", entry, unit=unit, details={"person": person.pk, "kind": kind, "points": entry.points}
    )
    return entry


def consecutive_absences(person: Person, community: Community) -> int:
    """Unexcused absences since the last attended activity (excused leave neither counts nor resets)."""
    kinds = CreditRecord.objects.filter(
        person=person,
        community=community,
        kind__in=[CreditKind.ATTENDED, CreditKind.ABSENT, CreditKind.LIFTED],
    ).order_by("-created_at", "-id")
    count = 0
    for kind in kinds.values_list("kind", flat=True)[:100]:
        if kind != CreditKind.ABSENT:
            break
        count += 1
    return count


def credit_summary(person: Person, community: Community | None = None) -> dict:
    records = CreditRecord.objects.filter(person=person)
    if community is not None:
        records = records.filter(community=community)
    by_kind = dict(records.values_list("kind").annotate(n=Count("pk")).order_by())
    points = sum(records.values_list("points", flat=True))
    summary = {"by_kind": by_kind, "points": points, "warnings": by_kind.get(CreditKind.WARNING, 0)}
    if community is not None:
        summary["consecutive_absences"] = consecutive_absences(person, community)
        summary["absence_limit"] = community.absence_limit
    return summary


@transaction.atomic
def warn(community: Community, person: Person, *, reason: str, actor) -> CreditRecord:
    reason = normalize.text(reason)
    if not reason:
        raise ValidationError({"reason": "请填写提醒或警告的原因"})
    return record_credit(person, kind=CreditKind.WARNING, community=community, reason=reason, actor=actor)


@transaction.atomic
def blacklist(
    community: Community, person: Person, *, reason: str, actor, warnings: int | None = None
) -> BlacklistEntry:
    """Put a person on the community's blacklist: their membership ends and joining is refused."""
    reason = normalize.text(reason)
    if not reason:
        raise ValidationError({"reason": "请填写列入黑名单的原因"})
    if is_blacklisted(community, person):
        raise ValidationError("此人已在本社群黑名单中")
    if warnings is None:
        warnings = CreditRecord.objects.filter(
            person=person, community=community, kind=CreditKind.WARNING
        ).count()
    entry = BlacklistEntry.objects.create(
        community=community, person=person, reason=reason[:300], warnings=warnings, decided_by=actor
    )
    now = timezone.now()
    CommunityMember.objects.filter(
        community=community, person=person, status__in=[MemberStatus.ACTIVE, MemberStatus.PENDING]
    ).update(
        status=MemberStatus.REMOVED,
        role=CommunityRole.MEMBER,
        decided_at=now,
        decided_by=actor,
        decision_note="列入黑名单",
    )
    record_credit(person, kind=CreditKind.BLACKLISTED, community=community, reason=reason, actor=actor)
    record(
        actor, "blacklist", entry, unit=community.unit, details={"person": person.pk, "warnings": warnings}
    )
    return entry


@transaction.atomic
def lift_blacklist(entry: BlacklistEntry, *, actor, reason: str = "") -> BlacklistEntry:
    if entry.lifted_at is not None:
        raise ValidationError("该黑名单记录已解除")
    entry.lifted_at, entry.lifted_by, entry.lift_reason = timezone.now(), actor, normalize.text(reason)[:200]
    entry.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    record_credit(
        entry.person, kind=CreditKind.LIFTED, community=entry.community, reason=entry.lift_reason, actor=actor
    )
    record(actor, "update", entry, unit=entry.community.unit, details={"lifted": True})
    return entry


def community_stats(community: Community, *, today: date | None = None) -> dict:
    """Members by status, role, source and roster match, and joins per month (last 12)."""
    members = CommunityMember.objects.filter(community=community)
    by_status = dict(members.values_list("status").annotate(n=Count("pk")).order_by())
    active = members.filter(status=MemberStatus.ACTIVE)
    by_role = dict(active.values_list("role").annotate(n=Count("pk")).order_by())
    by_source = dict(active.values_list("source").annotate(n=Count("pk")).order_by())
    matched = dict(active.values_list("matched_roster").annotate(n=Count("pk")).order_by())
    today = today or timezone.localdate()
    months = []
    year, month = today.year, today.month
    for _ in range(12):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    start = timezone.make_aware(timezone.datetime(months[0][0], months[0][1], 1))
    joins: dict[tuple[int, int], int] = defaultdict(int)
    for joined in active.filter(joined_at__gte=start).values_list("joined_at", flat=True):
        local = timezone.localtime(joined)
        joins[(local.year, local.month)] += 1
    return {
        "by_status": by_status,
        "by_role": by_role,
        "by_source": by_source,
        "matched": matched.get(True, 0),
        "new_to_roster": matched.get(False, 0),
        "active": by_status.get(MemberStatus.ACTIVE, 0),
        "pending": by_status.get(MemberStatus.PENDING, 0),
        "blacklisted": BlacklistEntry.objects.in_force().filter(community=community).count(),
        "months": [f"{y}-{m:02d}" for y, m in months],
        "joins": [joins.get(key, 0) for key in months],
    }
