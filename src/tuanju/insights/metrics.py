"""The registry of figures the dashboards show, and the providers that compute them.

Every figure is an additive count kept per unit (``people.total``, ``appeals.overdue``…): a
*stock provider* returns, for the rows sitting on each unit, ``(unit_id, key, value)`` tuples, and
``insights.aggregates`` sums them up the tree into each unit's ``UnitSnapshot``. A *flow provider*
returns ``(unit_id, day, key, value)`` for events in a date range (people added, activities held,
appeals handled…), bucketed into weeks and months (``PeriodStat``). Rates are never stored: a
``Figure`` with ``num``/``den`` divides two counts when it is shown, so every roll-up stays a sum.

The providers read the other apps' models **read-only** and resolve them by label at run time
(``Ctx.model``). A model or field that does not exist (yet) raises ``Unavailable`` (or Django's
``LookupError`` / ``FieldDoesNotExist`` / ``FieldError``); the engine then leaves that provider's
figures out of the snapshot and the dashboard does not show them — it never fails because
another capability is missing or changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tuanju.hierarchy.models import TOWER_LEVELS


class Unavailable(Exception):
    """A provider's source (app, model or field) does not exist in this installation."""


# --- Context handed to every provider -------------------------------------------------------


@dataclass
class Ctx:
    """What a provider may read: the subtree (``prefix``) or the exact units (``exact_paths``) to
    count, and the clock. ``scoped(qs)`` applies either to any queryset of a scoped model."""

    prefix: str = ""
    exact_paths: list[str] | None = None
    today: date = field(default_factory=timezone.localdate)
    now: datetime = field(default_factory=timezone.now)

    # -- models and fields
    @staticmethod
    def model(label: str):
        try:
            return apps.get_model(label)
        except (LookupError, ValueError) as exc:
            raise Unavailable(label) from exc

    @staticmethod
    def require_fields(model, *names: str) -> None:
        for name in names:
            try:
                model._meta.get_field(name)
            except FieldDoesNotExist as exc:
                raise Unavailable(f"{model._meta.label}.{name}") from exc

    @staticmethod
    def unit_field(model) -> str:
        """The lookup from ``model`` to its unit foreign key (its QuerySet's ``scope_field``)."""
        scope = getattr(model.objects.all(), "scope_field", None)
        if not scope:
            raise Unavailable(f"{model._meta.label} has no unit scope")
        return scope

    def scoped(self, queryset, unit_field: str | None = None):
        unit_field = unit_field or self.unit_field(queryset.model)
        if self.exact_paths is not None:
            return queryset.filter(**{f"{unit_field}__path__in": self.exact_paths})
        if self.prefix:
            return queryset.filter(**{f"{unit_field}__path__startswith": self.prefix})
        return queryset

    # -- time
    @property
    def month_start(self) -> date:
        return self.today.replace(day=1)

    def start_of(self, day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time.min))

    def days_ago(self, days: int) -> datetime:
        return self.start_of(self.today - timedelta(days=days - 1))


Row = tuple[int, str, float]
DayRow = tuple[int, date, str, float]


@dataclass
class Provider:
    name: str
    func: Callable
    label: Promise | str = ""


STOCKS: dict[str, Provider] = {}
FLOWS: dict[str, Provider] = {}


def stock(name: str, label: Promise | str = ""):
    def register(func: Callable[[Ctx], Iterable[Row]]):
        STOCKS[name] = Provider(name, func, label)
        return func

    return register


def flow(name: str, label: Promise | str = ""):
    def register(func: Callable[[Ctx, date, date], Iterable[DayRow]]):
        FLOWS[name] = Provider(name, func, label)
        return func

    return register


def _grouped(queryset, *fields: str, **aggregates):
    """``values(*fields).annotate(**aggregates)`` with the ordering cleared (one GROUP BY)."""
    return queryset.values(*fields).annotate(**aggregates).order_by()


def _field_type(model, path: str) -> str:
    """The internal type of the field at the end of a lookup path (``activity__starts_at``)."""
    *hops, last = path.split("__")
    for hop in hops:
        model = model._meta.get_field(hop).related_model
    return model._meta.get_field(last).get_internal_type()


def _daily(ctx: Ctx, queryset, date_field: str, since: date, until: date, key: str, value=None, *, unit_field=None):
    """Rows per unit and day of ``queryset`` within [since, until] (a datetime or a date field)."""
    model = queryset.model
    unit_field = unit_field or ctx.unit_field(model)
    if _field_type(model, date_field) == "DateTimeField":
        queryset = queryset.filter(
            **{f"{date_field}__gte": ctx.start_of(since), f"{date_field}__lt": ctx.start_of(until + timedelta(days=1))}
        ).annotate(_day=TruncDate(date_field))
    else:
        queryset = queryset.filter(**{f"{date_field}__gte": since, f"{date_field}__lte": until}).annotate(
            _day=F(date_field)
        )
    rows = ctx.scoped(queryset, unit_field).values(unit_field, "_day").annotate(v=value or Count("pk")).order_by()
    for row in rows:
        if row[unit_field] is not None and row["v"]:
            yield row[unit_field], row["_day"], key, float(row["v"])


# --- Stock providers ------------------------------------------------------------------------


@stock("units", _("Units"))
def units(ctx: Ctx):
    from tuanju.hierarchy.models import OrgUnit

    qs = OrgUnit.objects.all()
    if ctx.exact_paths is not None:
        qs = qs.filter(path__in=ctx.exact_paths)
    elif ctx.prefix:
        qs = qs.filter(path__startswith=ctx.prefix)
    tower = {str(level) for level in TOWER_LEVELS}
    for pk, level in qs.values_list("pk", "level").iterator(chunk_size=20_000):
        yield pk, f"units.{level}", 1
        if level in tower:
            yield pk, "units.tower", 1


@stock("people", _("Youth roster"))
def people(ctx: Ctx):
    Person = ctx.model("people.Person")
    ctx.require_fields(Person, "political_status", "gender", "category", "is_backbone", "in_talent_pool")
    people = ctx.scoped(Person.objects.all())
    for row in _grouped(people, "unit", "political_status", "gender", n=Count("pk")):
        yield row["unit"], "people.total", row["n"]
        yield row["unit"], f"people.ps.{row['political_status'] or '_none'}", row["n"]
        yield row["unit"], f"people.g.{row['gender'] or '_none'}", row["n"]
    top = Coalesce(F("category__parent__name"), F("category__name"))
    for row in _grouped(people.annotate(top=top), "unit", "top", n=Count("pk")):
        yield row["unit"], f"people.cat.{row['top'] or '_none'}", row["n"]
    flagged = people.filter(Q(is_backbone=True) | Q(in_talent_pool=True))
    for row in _grouped(
        flagged,
        "unit",
        backbone=Count("pk", filter=Q(is_backbone=True)),
        talent=Count("pk", filter=Q(in_talent_pool=True)),
    ):
        yield row["unit"], "people.backbone", row["backbone"]
        yield row["unit"], "people.talent", row["talent"]


@stock("contacts", _("Contacts and 1+N duties"))
def contacts(ctx: Ctx):
    ContactLog = ctx.model("people.ContactLog")
    LiaisonDuty = ctx.model("people.LiaisonDuty")
    since = ctx.today - timedelta(days=29)
    logs = ctx.scoped(ContactLog.objects.filter(contacted_on__gte=since), "person__unit")
    for row in _grouped(logs, "person__unit", n=Count("pk")):
        yield row["person__unit"], "contacts.30d", row["n"]
    duties = ctx.scoped(LiaisonDuty.objects.all(), "person__unit")
    for row in _grouped(duties, "person__unit", n=Count("person", distinct=True)):
        yield row["person__unit"], "duties.people", row["n"]


@stock("organizations", _("Youth social organizations"))
def organizations(ctx: Ctx):
    Organization = ctx.model("organizations.Organization")
    Membership = ctx.model("organizations.Membership")
    orgs = ctx.scoped(Organization.objects.filter(is_active=True))
    for row in _grouped(orgs, "unit", "org_type__name", n=Count("pk")):
        yield row["unit"], "orgs.total", row["n"]
        yield row["unit"], f"orgs.type.{row['org_type__name']}", row["n"]
    for row in _grouped(orgs.filter(registration_status="registered"), "unit", n=Count("pk")):
        yield row["unit"], "orgs.registered", row["n"]
    members = ctx.scoped(
        Membership.objects.filter(left_on__isnull=True, organization__is_active=True), "organization__unit"
    )
    for row in _grouped(members, "organization__unit", n=Count("pk")):
        yield row["organization__unit"], "orgs.members", row["n"]
    yield from _four_have(ctx, orgs)
    # Activity rate: organizations that held an activity this month (needs the activities hook).
    from tuanju.organizations import hooks

    active = hooks.active_since(ctx.month_start)
    if active is not None:
        for row in _grouped(orgs.filter(pk__in=active), "unit", n=Count("pk")):
            yield row["unit"], "orgs.active_month", row["n"]


def _four_have(ctx: Ctx, orgs):
    """The 四有 check by the organizations app's own rules (``org_facts``), counted per unit."""
    try:
        from tuanju.organizations.actions import org_facts
    except ImportError as exc:  # pragma: no cover - the organizations app changed shape
        raise Unavailable("organizations.actions.org_facts") from exc
    unit_of = dict(orgs.values_list("pk", "unit_id"))
    for facts in org_facts(orgs, today=ctx.today):
        unit_id = unit_of.get(facts.pk)
        if unit_id is None:
            continue
        if facts.four_have:
            yield unit_id, "orgs.four_have", 1
        if not facts.has_leader:
            yield unit_id, "orgs.no_leader", 1
        if not facts.has_venue:
            yield unit_id, "orgs.no_venue", 1
        if not facts.has_team:
            yield unit_id, "orgs.no_team", 1
        if facts.has_activity is False:
            yield unit_id, "orgs.no_activity", 1


@stock("alliances", _("Alliances"))
def alliances(ctx: Ctx):
    Alliance = ctx.model("organizations.Alliance")
    AllianceMember = ctx.model("organizations.AllianceMember")
    for row in _grouped(ctx.scoped(Alliance.objects.filter(is_active=True)), "unit", n=Count("pk")):
        yield row["unit"], "alliances.total", row["n"]
    members = ctx.scoped(AllianceMember.objects.filter(alliance__is_active=True), "alliance__unit")
    for row in _grouped(members, "alliance__unit", n=Count("pk")):
        yield row["alliance__unit"], "alliances.members", row["n"]


@stock("groups", _("Tower groups"))
def groups(ctx: Ctx):
    ChatGroup = ctx.model("groups.ChatGroup")
    ctx.require_fields(ChatGroup, "kind", "placed_count", "member_count", "liaison_count")
    rows = _grouped(
        ctx.scoped(ChatGroup.objects.all()),
        "unit",
        "kind",
        n=Count("pk"),
        placed=Sum("placed_count"),
        members=Sum("member_count"),
        no_liaison=Count("pk", filter=Q(liaison_count=0)),
    )
    for row in rows:
        unit = row["unit"]
        yield unit, "groups.placed", row["placed"] or 0
        yield unit, "groups.memberships", row["members"] or 0
        if row["kind"] == "tower":
            yield unit, "groups.tower", row["n"]
            yield unit, "groups.no_liaison", row["no_liaison"]
        else:
            yield unit, "groups.other", row["n"]


@stock("communities", _("Interest communities"))
def communities(ctx: Ctx):
    Community = ctx.model("groups.Community")
    CommunityMember = ctx.model("groups.CommunityMember")
    for row in _grouped(ctx.scoped(Community.objects.all()), "unit", "category__name", n=Count("pk")):
        yield row["unit"], "communities.total", row["n"]
        yield row["unit"], f"communities.cat.{row['category__name']}", row["n"]
    members = ctx.scoped(CommunityMember.objects.filter(status="active"), "community__unit")
    for row in _grouped(members, "community__unit", n=Count("pk")):
        yield row["community__unit"], "communities.members", row["n"]


@stock("activities", _("Activities"))
def activities(ctx: Ctx):
    Activity = ctx.model("activities.Activity")
    Registration = ctx.model("activities.Registration")
    ctx.require_fields(Activity, "starts_at", "status")
    ctx.require_fields(Registration, "hours", "outcome")
    held = Activity.objects.held(ctx.now) if hasattr(Activity.objects, "held") else Activity.objects.all()
    month = ctx.scoped(held.filter(starts_at__gte=ctx.start_of(ctx.month_start)))
    for row in _grouped(month, "unit", n=Count("pk")):
        yield row["unit"], "activities.month", row["n"]
    year = ctx.scoped(held.filter(starts_at__gte=ctx.start_of(ctx.today.replace(month=1, day=1))))
    for row in _grouped(year, "unit", n=Count("pk")):
        yield row["unit"], "activities.year", row["n"]
    registrations = Registration.objects.all()
    if hasattr(registrations, "with_hours"):
        registrations = registrations.with_hours()
    else:  # pragma: no cover - the activities app changed shape
        registrations = registrations.filter(hours__gt=0)
    hours = ctx.scoped(registrations, "activity__unit")
    for row in _grouped(hours, "activity__unit", h=Sum("hours")):
        yield row["activity__unit"], "activities.hours", float(row["h"] or 0)
    attended = ctx.scoped(
        Registration.objects.filter(outcome="attended", activity__starts_at__gte=ctx.start_of(ctx.month_start)),
        "activity__unit",
    )
    for row in _grouped(attended, "activity__unit", n=Count("pk")):
        yield row["activity__unit"], "activities.attended_month", row["n"]


DIRECTIVE_OUT = ("planning", "sending", "sent", "closed")
#: The window of the mobilization figures (directives sent in the last N days).
DIRECTIVE_DAYS = 30


def _sla_groups(Directive, directives) -> dict[int, list[int]]:
    """Directive ids by their service level in seconds (few distinct values: one per urgency)."""
    out: dict[int, list[int]] = {}
    for pk, urgency, seconds in directives.values_list("pk", "urgency", "service_seconds"):
        if not seconds:
            try:
                from tuanju.mobilize import conf

                seconds = conf.service_seconds(urgency)
            except (ImportError, KeyError, AttributeError):
                seconds = 3600
        out.setdefault(int(seconds), []).append(pk)
    return out


@stock("mobilize", _("Directives"))
def mobilize(ctx: Ctx):
    """Directives sent from the subtree, and their deliveries to the subtree's groups: reached,
    reached within the directive's service level, acknowledged (in the last 30 days)."""
    from django.db.models import DurationField, ExpressionWrapper

    Directive = ctx.model("mobilize.Directive")
    GroupDelivery = ctx.model("mobilize.GroupDelivery")
    ctx.require_fields(Directive, "sent_at", "urgency", "service_seconds", "status")
    ctx.require_fields(GroupDelivery, "delivered_at", "acked_at", "directive")
    recent = Directive.objects.filter(
        status__in=DIRECTIVE_OUT, sent_at__isnull=False, sent_at__gte=ctx.days_ago(DIRECTIVE_DAYS)
    )
    for row in _grouped(ctx.scoped(recent), "unit", n=Count("pk")):
        yield row["unit"], "directives.sent", row["n"]
    deliveries = ctx.scoped(GroupDelivery.objects.filter(directive__in=recent.values("pk")))
    for row in _grouped(
        deliveries,
        "unit",
        n=Count("pk"),
        reached=Count("pk", filter=Q(delivered_at__isnull=False)),
        acked=Count("pk", filter=Q(acked_at__isnull=False)),
    ):
        yield row["unit"], "directives.deliveries", row["n"]
        yield row["unit"], "directives.reached", row["reached"]
        yield row["unit"], "directives.acked", row["acked"]
    delay = ExpressionWrapper(F("delivered_at") - F("directive__sent_at"), output_field=DurationField())
    ack_delay = ExpressionWrapper(F("acked_at") - F("directive__sent_at"), output_field=DurationField())
    for seconds, ids in _sla_groups(Directive, recent).items():
        limit = timedelta(seconds=seconds)
        rows = _grouped(
            deliveries.filter(directive__in=ids).annotate(delay=delay, ack_delay=ack_delay),
            "unit",
            in_sla=Count("pk", filter=Q(delivered_at__isnull=False, delay__lte=limit)),
            ack_sla=Count("pk", filter=Q(acked_at__isnull=False, ack_delay__lte=limit)),
        )
        for row in rows:
            yield row["unit"], "directives.in_sla", row["in_sla"]
            yield row["unit"], "directives.ack_sla", row["ack_sla"]


@stock("appeals", _("Appeals and services"))
def appeals(ctx: Ctx):
    Appeal = ctx.model("appeals.Appeal")
    ctx.require_fields(Appeal, "status", "due_date", "satisfaction", "replied_late", "received_at")
    open_ = Q(status__in=("received", "assigned", "in_progress"))
    handling = Q(status__in=("assigned", "in_progress"))
    done = Q(status__in=("replied", "closed"))
    rows = _grouped(
        ctx.scoped(Appeal.objects.all()),
        "unit",
        total=Count("pk"),
        open=Count("pk", filter=open_),
        overdue=Count("pk", filter=handling & Q(due_date__lt=ctx.today)),
        done=Count("pk", filter=done),
        late=Count("pk", filter=done & Q(replied_late=True)),
        rated=Count("pk", filter=Q(satisfaction__isnull=False)),
        satisfied=Count("pk", filter=Q(satisfaction=3)),
        score=Sum("satisfaction"),
        recent=Count("pk", filter=Q(received_at__gte=ctx.days_ago(30))),
    )
    for row in rows:
        unit = row["unit"]
        for key in ("total", "open", "overdue", "done", "late", "rated", "satisfied", "recent"):
            yield unit, f"appeals.{key}", row[key]
        yield unit, "appeals.on_time", row["done"] - row["late"]
        yield unit, "appeals.score", row["score"] or 0


@stock("stations", _("Service stations"))
def stations(ctx: Ctx):
    Station = ctx.model("appeals.Station")
    ServiceRecord = ctx.model("appeals.ServiceRecord")
    for row in _grouped(ctx.scoped(Station.objects.filter(is_active=True)), "unit", n=Count("pk")):
        yield row["unit"], "stations.total", row["n"]
    since = ctx.today - timedelta(days=29)
    records = ctx.scoped(ServiceRecord.objects.filter(served_on__gte=since))
    for row in _grouped(records, "unit", n=Sum("people_count")):
        yield row["unit"], "services.30d", row["n"] or 0


@stock("surveys", _("Surveys"))
def surveys(ctx: Ctx):
    Survey = ctx.model("surveys.Survey")
    Response = ctx.model("surveys.Response")
    ctx.require_fields(Response, "unit")
    live = Survey.objects.filter(status__in=("published", "closed"))
    for row in _grouped(ctx.scoped(live), "unit", n=Count("pk"), open=Count("pk", filter=Q(status="published"))):
        yield row["unit"], "surveys.total", row["n"]
        yield row["unit"], "surveys.open", row["open"]
    answers = ctx.scoped(Response.objects.all(), "survey__unit")
    for row in _grouped(answers, "survey__unit", n=Count("pk")):
        yield row["survey__unit"], "surveys.responses", row["n"]
    # Answers given from the subtree (the respondent's unit, anonymous answers included) …
    respondents = ctx.scoped(Response.objects.filter(unit__isnull=False), "unit")
    for row in _grouped(respondents, "unit", n=Count("pk")):
        yield row["unit"], "surveys.respondents", row["n"]
    # … and participation: roster people who answered at least one survey (each counted once).
    people = ctx.scoped(Response.objects.filter(person__isnull=False), "person__unit")
    for row in _grouped(people, "person__unit", n=Count("person", distinct=True)):
        yield row["person__unit"], "surveys.people", row["n"]


# --- Flow providers -------------------------------------------------------------------------


@flow("people", _("New people"))
def people_flow(ctx: Ctx, since: date, until: date):
    Person = ctx.model("people.Person")
    yield from _daily(ctx, Person.objects.all(), "created_at", since, until, "people.new")


@flow("contacts", _("Contacts"))
def contacts_flow(ctx: Ctx, since: date, until: date):
    ContactLog = ctx.model("people.ContactLog")
    yield from _daily(
        ctx, ContactLog.objects.all(), "contacted_on", since, until, "contacts", unit_field="person__unit"
    )


@flow("organizations", _("New organizations"))
def organizations_flow(ctx: Ctx, since: date, until: date):
    Organization = ctx.model("organizations.Organization")
    yield from _daily(ctx, Organization.objects.all(), "created_at", since, until, "orgs.new")


@flow("communities", _("Community joins"))
def communities_flow(ctx: Ctx, since: date, until: date):
    CommunityMember = ctx.model("groups.CommunityMember")
    members = CommunityMember.objects.filter(status="active", joined_at__isnull=False)
    yield from _daily(ctx, members, "joined_at", since, until, "communities.joined", unit_field="community__unit")


@flow("activities", _("Activities held"))
def activities_flow(ctx: Ctx, since: date, until: date):
    Activity = ctx.model("activities.Activity")
    Registration = ctx.model("activities.Registration")
    held = Activity.objects.held(ctx.now) if hasattr(Activity.objects, "held") else Activity.objects.all()
    yield from _daily(ctx, held, "starts_at", since, until, "activities.held")
    registrations = Registration.objects.all()
    if hasattr(registrations, "with_hours"):
        registrations = registrations.with_hours()
    yield from _daily(
        ctx,
        registrations,
        "activity__starts_at",
        since,
        until,
        "activities.hours",
        Sum("hours"),
        unit_field="activity__unit",
    )
    attended = Registration.objects.filter(outcome="attended")
    yield from _daily(
        ctx, attended, "activity__starts_at", since, until, "activities.attended", unit_field="activity__unit"
    )


@flow("mobilize", _("Directives"))
def mobilize_flow(ctx: Ctx, since: date, until: date):
    Directive = ctx.model("mobilize.Directive")
    GroupDelivery = ctx.model("mobilize.GroupDelivery")
    sent = Directive.objects.filter(status__in=DIRECTIVE_OUT, sent_at__isnull=False)
    yield from _daily(ctx, sent, "sent_at", since, until, "directives.sent")
    reached = GroupDelivery.objects.filter(delivered_at__isnull=False)
    yield from _daily(ctx, reached, "delivered_at", since, until, "directives.relayed")


@flow("appeals", _("Appeals"))
def appeals_flow(ctx: Ctx, since: date, until: date):
    Appeal = ctx.model("appeals.Appeal")
    yield from _daily(ctx, Appeal.objects.all(), "received_at", since, until, "appeals.received")
    handled = Appeal.objects.filter(replied_at__isnull=False)
    yield from _daily(ctx, handled, "replied_at", since, until, "appeals.handled")


@flow("services", _("People served at stations"))
def services_flow(ctx: Ctx, since: date, until: date):
    ServiceRecord = ctx.model("appeals.ServiceRecord")
    yield from _daily(ctx, ServiceRecord.objects.all(), "served_on", since, until, "services", Sum("people_count"))


@flow("surveys", _("Survey answers"))
def surveys_flow(ctx: Ctx, since: date, until: date):
    Response = ctx.model("surveys.Response")
    yield from _daily(
        ctx, Response.objects.filter(unit__isnull=False), "submitted_at", since, until, "surveys.answers", unit_field="unit"
    )


@flow("ledgers", _("Weekly ledgers"))
def ledgers_flow(ctx: Ctx, since: date, until: date):
    """What the submitted ledgers reported, on their week's Monday (``ledger.<field>``)."""
    from .models import Ledger, LedgerStatus

    ledgers = ctx.scoped(
        Ledger.objects.filter(status=LedgerStatus.SUBMITTED, week_start__gte=since, week_start__lte=until)
    )
    for unit_id, start, figures, manual, late in ledgers.values_list(
        "unit_id", "week_start", "figures", "manual", "late"
    ).iterator(chunk_size=5000):
        values = {**(figures or {}), **(manual or {})}
        for key, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                yield unit_id, start, f"ledger.{key}", float(value)
        yield unit_id, start, "ledger.submitted", 1
        if late:
            yield unit_id, start, "ledger.late", 1


# --- What the dashboard shows ---------------------------------------------------------------


def list_url(name: str, *args, **params) -> Callable:
    """A link to another app's list with the unit (and any other filter) in the query string."""

    def build(unit) -> str | None:
        try:
            url = reverse(name, args=[getattr(unit, a) for a in args])
        except NoReverseMatch:
            return None
        query = {"unit": unit.code} if not args else {}
        query.update(params)
        return f"{url}?{urlencode(query)}" if query else url

    return build


@dataclass(frozen=True)
class Figure:
    key: str
    label: Promise | str
    section: str
    num: str = ""  # a rate: num / den (keys of counts)
    den: str = ""
    fmt: str = "int"  # int | pct | hours | avg3
    link: Callable | None = None
    hint: Promise | str = ""

    @property
    def is_rate(self) -> bool:
        return bool(self.den)

    def value(self, data: dict):
        if self.is_rate:
            if self.num not in data and self.den not in data:
                return None
            den = data.get(self.den, 0)
            return (data.get(self.num, 0) / den) if den else None
        return data.get(self.key)

    def available(self, data: dict) -> bool:
        if self.is_rate:
            return self.num in data or self.den in data
        return self.key in data


SECTIONS = [
    ("roster", _("Youth roster")),
    ("organizations", _("Organizations and alliances")),
    ("tower", _("Tower groups and communities")),
    ("activities", _("Activities and volunteering")),
    ("mobilize", _("Mobilization")),
    ("appeals", _("Appeals and services")),
    ("surveys", _("Surveys")),
]

FIGURES: list[Figure] = [
    Figure("people.total", _("Young people in the roster"), "roster", link=list_url("people:list")),
    Figure("people.backbone", _("Backbone youth"), "roster", link=list_url("people:list", backbone="1")),
    Figure("people.talent", _("In the talent pool"), "roster", link=list_url("people:list", talent="1")),
    Figure(
        "people.ps.league",
        _("League members"),
        "roster",
        link=list_url("people:list", political_status="league"),
    ),
    Figure("duties.people", _("Backbone youth in 1+N contact"), "roster", link=list_url("people:duties")),
    Figure("contacts.30d", _("Contacts in the last 30 days"), "roster", link=list_url("people:duties")),
    Figure("orgs.total", _("Youth social organizations"), "organizations", link=list_url("organizations:list")),
    Figure(
        "rate.four_have",
        _("Share passing 四有"),
        "organizations",
        num="orgs.four_have",
        den="orgs.total",
        fmt="pct",
        link=list_url("organizations:list", four_have="pass"),
    ),
    Figure(
        "rate.org_activity",
        _("Organizations active this month"),
        "organizations",
        num="orgs.active_month",
        den="orgs.total",
        fmt="pct",
        link=list_url("organizations:list", missing="activity"),
        hint=_("Share of organizations that held an activity this month (the list shows those without one lately)."),
    ),
    Figure("orgs.members", _("Individual members"), "organizations", link=list_url("organizations:list")),
    Figure("alliances.total", _("Alliances"), "organizations", link=list_url("organizations:alliance-list")),
    Figure("alliances.members", _("Societies in alliances"), "organizations", link=list_url("organizations:alliance-list")),
    Figure("groups.tower", _("Tower groups built"), "tower", link=list_url("groups:tower-unit", "pk")),
    Figure(
        "rate.groups",
        _("Units with a tower group"),
        "tower",
        num="groups.tower",
        den="units.tower",
        fmt="pct",
        link=list_url("groups:tower-unit", "pk"),
    ),
    Figure(
        "rate.placed",
        _("Roster in groups"),
        "tower",
        num="groups.placed",
        den="people.total",
        fmt="pct",
        link=list_url("groups:tower-unit", "pk"),
    ),
    Figure(
        "groups.no_liaison",
        _("Tower groups without a liaison"),
        "tower",
        link=list_url("groups:list", kind="tower", liaison="none"),
    ),
    Figure("communities.total", _("Interest communities"), "tower", link=list_url("groups:community-list")),
    Figure("communities.members", _("Community members"), "tower", link=list_url("groups:community-list")),
    Figure("activities.month", _("Activities this month"), "activities", link=list_url("activities:list")),
    Figure("activities.year", _("Activities this year"), "activities", link=list_url("activities:list")),
    Figure(
        "activities.attended_month", _("Attendances this month"), "activities", link=list_url("activities:list")
    ),
    Figure("activities.hours", _("Volunteer hours"), "activities", fmt="hours", link=list_url("activities:list")),
    Figure("directives.sent", _("Directives sent (30 days)"), "mobilize", link=list_url("mobilize:list")),
    Figure("directives.deliveries", _("Group deliveries here (30 days)"), "mobilize", link=list_url("mobilize:list")),
    Figure(
        "rate.reach",
        _("Reach rate"),
        "mobilize",
        num="directives.reached",
        den="directives.deliveries",
        fmt="pct",
        link=list_url("mobilize:list"),
    ),
    Figure(
        "rate.reach_sla",
        _("Reached within the service level"),
        "mobilize",
        num="directives.in_sla",
        den="directives.deliveries",
        fmt="pct",
        link=list_url("mobilize:list"),
        hint=_("Emergency 3 min, urgent 15 min, general 1 h, periodic 1 week."),
    ),
    Figure(
        "rate.ack_sla",
        _("Acknowledged within the service level"),
        "mobilize",
        num="directives.ack_sla",
        den="directives.deliveries",
        fmt="pct",
        link=list_url("mobilize:list"),
    ),
    Figure(
        "rate.ack",
        _("Acknowledged"),
        "mobilize",
        num="directives.acked",
        den="directives.deliveries",
        fmt="pct",
        link=list_url("mobilize:list"),
    ),
    Figure("appeals.open", _("Open appeals"), "appeals", link=list_url("appeals:list", status="open")),
    Figure("appeals.overdue", _("Overdue appeals"), "appeals", link=list_url("appeals:list", due="overdue")),
    Figure(
        "rate.appeals_on_time",
        _("Handled on time"),
        "appeals",
        num="appeals.on_time",
        den="appeals.done",
        fmt="pct",
        link=list_url("appeals:list", due="late"),
    ),
    Figure(
        "rate.satisfaction",
        _("Satisfied"),
        "appeals",
        num="appeals.satisfied",
        den="appeals.rated",
        fmt="pct",
        link=list_url("appeals:list", rated="3"),
    ),
    Figure("services.30d", _("People served at stations (30 days)"), "appeals", link=list_url("appeals:station-list")),
    Figure("surveys.total", _("Surveys"), "surveys", link=list_url("surveys:list")),
    Figure("surveys.responses", _("Answers to these surveys"), "surveys", link=list_url("surveys:list")),
    Figure("surveys.respondents", _("Answers from this area"), "surveys", link=list_url("surveys:list")),
    Figure(
        "rate.participation",
        _("Roster who answered a survey"),
        "surveys",
        num="surveys.people",
        den="people.total",
        fmt="pct",
        link=list_url("surveys:list"),
    ),
]
FIGURES_BY_KEY = {figure.key: figure for figure in FIGURES}

#: Breakdowns drawn as pies: (prefix of the keys, title, link builder for one slice).
BREAKDOWNS = [
    ("people.cat.", _("Roster by category"), lambda v: {"category": v}, "people:list"),
    ("people.ps.", _("Roster by political status"), lambda v: {"political_status": v}, "people:list"),
    ("orgs.type.", _("Organizations by type"), lambda v: {"type": v}, "organizations:list"),
    ("communities.cat.", _("Communities by category"), lambda v: {}, "groups:community-list"),
]

#: Figures a child unit's row and the breakdown chart offer (and the map colours by).
CHILD_FIGURES = [
    "people.total",
    "people.backbone",
    "orgs.total",
    "rate.four_have",
    "rate.org_activity",
    "rate.groups",
    "rate.placed",
    "communities.members",
    "activities.month",
    "activities.hours",
    "rate.reach",
    "rate.ack",
    "appeals.open",
    "appeals.overdue",
    "rate.satisfaction",
    "rate.participation",
]

#: Weekly/monthly series for the trend charts: (flow key, label).
TREND_SERIES = [
    ("activities.held", _("Activities held")),
    ("appeals.received", _("Appeals received")),
    ("appeals.handled", _("Appeals handled")),
    ("directives.sent", _("Directives sent")),
    ("directives.relayed", _("Directives reaching groups")),
    ("people.new", _("New people")),
    ("contacts", _("Contacts")),
    ("orgs.new", _("New organizations")),
    ("activities.hours", _("Volunteer hours")),
    ("services", _("People served")),
    ("surveys.answers", _("Survey answers")),
    ("communities.joined", _("Community joins")),
]
