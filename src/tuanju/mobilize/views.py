"""Directives for staff: history and search, drafting, approval, the live reach view, export.

Scope: ``Directive.objects.visible_to(user)`` (sent from the user's subtree) — plus, read-only,
``Directive.objects.reaching(user)`` (sent from above and reaching the user's subtree, whose
reach is then shown for the user's own unit only).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.audit.actions import record
from tuanju.core.views import paginate
from tuanju.groups.models import GroupLiaison
from tuanju.hierarchy.models import OrgUnit

from . import actions, conf, exporting, planning, reach
from .forms import DecisionForm, DirectiveForm
from .models import (
    LIVE_STATUSES,
    Directive,
    Escalation,
    GroupDelivery,
    Message,
    MessageState,
    Receipt,
    Status,
    Urgency,
)


class Access:
    """A directive as the user may see it: ``own`` (sent from their subtree) or received."""

    def __init__(self, directive: Directive, own: bool, home: OrgUnit):
        self.directive, self.own, self.home = directive, own, home


def _access(request, pk) -> Access:
    user = request.user
    directive = (
        Directive.objects.visible_to(user)
        .select_related("unit", "created_by", "decided_by")
        .filter(pk=pk)
        .first()
    )
    if directive is not None:
        return Access(directive, True, directive.unit)
    directive = (
        Directive.objects.reaching(user)
        .select_related("unit", "created_by", "decided_by")
        .filter(pk=pk)
        .first()
    )
    if directive is None:
        raise Http404
    return Access(directive, False, user.unit)


def _own(request, pk) -> Directive:
    return get_object_or_404(Directive.objects.visible_to(request.user).select_related("unit"), pk=pk)


def _root(request, access: Access) -> OrgUnit:
    """The unit whose reach is shown: ``?unit=CODE`` within what this user may see of the directive."""
    code = (request.GET.get("unit") or "").strip()[:32]
    floor = access.home
    if code:
        unit = OrgUnit.objects.visible_to(request.user).filter(code=code, path__startswith=floor.path).first()
        if unit is not None:
            return unit
    return floor


def _form_errors(request, exc: ValidationError) -> None:
    for error in getattr(exc, "messages", [str(exc)]):
        messages.error(request, error)


# --- History --------------------------------------------------------------------------------------


@login_required
@require_GET
def directive_list(request):
    tab = request.GET.get("tab", "sent")
    user = request.user
    if tab == "received":
        directives = Directive.objects.reaching(user)
    elif tab == "approval":
        directives = Directive.objects.visible_to(user).filter(status=Status.PENDING).exclude(created_by=user)
    else:
        tab = "sent"
        directives = Directive.objects.visible_to(user)
    q = (request.GET.get("q") or "").strip()[:50]
    directives = directives.search(q)
    urgency = request.GET.get("urgency", "")
    if urgency in Urgency.values:
        directives = directives.filter(urgency=urgency)
    status = request.GET.get("status", "")
    if status in Status.values:
        directives = directives.filter(status=status)
    since = request.GET.get("since", "")
    if since:
        try:
            directives = directives.filter(created_at__date__gte=since)
        except ValidationError:
            since = ""
    directives = directives.select_related("unit", "created_by").annotate(
        n_escalations=Count("escalations", distinct=True)
    )
    page = paginate(request, directives.order_by("-created_at", "-id"), 25)
    pending = (
        Directive.objects.visible_to(user).filter(status=Status.PENDING).exclude(created_by=user).count()
        if user.can_manage_units
        else 0
    )
    context = {
        "page_obj": page,
        "tab": tab,
        "params": {"q": q, "urgency": urgency, "status": status, "since": since},
        "urgencies": Urgency.choices,
        "statuses": Status.choices,
        "filtered": bool(q or urgency or status or since),
        "can_write": user.can_write,
        "pending": pending,
    }
    return render(request, "mobilize/list.html", context)


# --- Drafting ---------------------------------------------------------------------------------------


def _home(request) -> OrgUnit:
    if request.user.unit is None:
        raise PermissionDenied(_("Your account is not bound to a unit."))
    return request.user.unit


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    if not request.user.can_write:
        raise PermissionDenied(_("Your role may not send directives."))
    unit = _home(request)
    initial = {"units": unit.code, "require_ack": True, "use_robots": True, "urgency": Urgency.GENERAL}
    form = DirectiveForm(request.POST or None, user=request.user, unit=unit, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            directive = actions.save_directive(
                Directive(),
                data=form.directive_data(),
                targets=form.cleaned_data["targets"],
                actor=request.user,
                unit=unit,
            )
        except ValidationError as exc:
            _form_errors(request, exc)
        else:
            return _after_save(request, directive)
    return render(
        request,
        "mobilize/form.html",
        {"form": form, "title": _("New directive"), "back": reverse("mobilize:list")},
    )


def _after_save(request, directive: Directive):
    if request.POST.get("then") == "submit":
        try:
            actions.submit(directive, actor=request.user)
        except ValidationError as exc:
            _form_errors(request, exc)
            return redirect("mobilize:detail", pk=directive.pk)
        if directive.status == Status.PENDING:
            messages.info(request, _("The directive waits for an administrator's approval."))
        else:
            messages.success(request, _("The directive is going out."))
    else:
        messages.success(request, _("Draft saved."))
    return redirect("mobilize:detail", pk=directive.pk)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    directive = _own(request, pk)
    if not request.user.can_write:
        raise PermissionDenied(_("Your role may not send directives."))
    if directive.status not in actions.EDITABLE:
        messages.error(request, _("A submitted directive cannot be changed; copy it instead."))
        return redirect("mobilize:detail", pk=pk)
    form = DirectiveForm(
        request.POST or None,
        user=request.user,
        unit=directive.unit,
        initial=DirectiveForm.initial_from(directive),
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_directive(
                directive,
                data=form.directive_data(),
                targets=form.cleaned_data["targets"],
                actor=request.user,
            )
        except ValidationError as exc:
            _form_errors(request, exc)
        else:
            return _after_save(request, directive)
    context = {
        "form": form,
        "title": _("Edit directive"),
        "directive": directive,
        "back": reverse("mobilize:detail", args=[pk]),
    }
    return render(request, "mobilize/form.html", context)


@login_required
@require_POST
def estimate(request):
    """How many groups and people the targets in the form reach (before sending)."""
    unit = _home(request)
    form = DirectiveForm(request.POST, user=request.user, unit=unit)
    form.is_valid()
    specs = form.cleaned_data.get("targets") if hasattr(form, "cleaned_data") else None
    context = {"error": None}
    if not specs:
        context["error"] = "; ".join(str(e) for e in form.errors.get("units", [])) or _(
            "Choose at least one target."
        )
    else:
        try:
            rows = actions.check_targets(request.user, unit, specs)
        except ValidationError as exc:
            context["error"] = "; ".join(exc.messages)
        else:
            stub = Directive(unit=unit)
            from tuanju.groups.models import ChatGroup
            from tuanju.people.models import Person

            for row in rows:
                if row.unit_id is None and row.unit is not None:
                    row.unit_id = row.unit.pk
            groups = ChatGroup.objects.filter(planning.group_q(rows))
            context.update(
                groups=groups.count(),
                robots=groups.filter(webhook_url_enc__isnull=False).exclude(robot_status="failing").count(),
                people=Person.objects.filter(planning.people_q(stub, rows)).count(),
            )
    return render(request, "mobilize/_estimate.html", context)


# --- Lifecycle -----------------------------------------------------------------------------------------


def _lifecycle(request, pk, operation):
    directive = _own(request, pk)
    try:
        operation(directive)
    except ValidationError as exc:
        _form_errors(request, exc)
    return redirect("mobilize:detail", pk=pk)


@login_required
@require_POST
def submit(request, pk):
    def run(directive):
        actions.submit(directive, actor=request.user)
        if directive.status == Status.PENDING:
            messages.info(request, _("The directive waits for an administrator's approval."))
        else:
            messages.success(request, _("The directive is going out."))

    return _lifecycle(request, pk, run)


@login_required
@require_POST
def approve(request, pk):
    form = DecisionForm(request.POST)
    form.is_valid()

    def run(directive):
        actions.approve(directive, actor=request.user, note=form.cleaned_data.get("note", ""))
        messages.success(request, _("Approved; the directive is going out."))

    return _lifecycle(request, pk, run)


@login_required
@require_POST
def reject(request, pk):
    form = DecisionForm(request.POST)
    form.is_valid()

    def run(directive):
        actions.reject(directive, actor=request.user, note=form.cleaned_data.get("note", ""))
        messages.info(request, _("Returned to the sender."))

    return _lifecycle(request, pk, run)


@login_required
@require_POST
def withdraw(request, pk):
    return _lifecycle(request, pk, lambda d: actions.withdraw(d, actor=request.user))


@login_required
@require_POST
def close(request, pk):
    def run(directive):
        actions.close(directive, actor=request.user)
        messages.success(request, _("The directive is closed."))

    return _lifecycle(request, pk, run)


@login_required
@require_POST
def copy(request, pk):
    access = _access(request, pk)
    new = actions.copy(access.directive, actor=request.user)
    messages.success(request, _("Copied as a new draft."))
    return redirect("mobilize:edit", pk=new.pk)


@login_required
@require_POST
def ack_group(request, pk, delivery_pk):
    access = _access(request, pk)
    delivery = get_object_or_404(
        GroupDelivery.objects.visible_to(request.user).select_related("directive"),
        pk=delivery_pk,
        directive=access.directive,
    )
    try:
        actions.ack_group_by_staff(delivery, actor=request.user, note=request.POST.get("note", ""))
        messages.success(request, _("Recorded as acknowledged."))
    except ValidationError as exc:
        _form_errors(request, exc)
    return redirect(f"{reverse('mobilize:detail', args=[pk])}?unit={request.POST.get('unit', '')}#silent")


# --- Detail and live reach ---------------------------------------------------------------------------


@login_required
@require_GET
def detail(request, pk):
    access = _access(request, pk)
    directive = access.directive
    root = _root(request, access)
    user = request.user
    live = directive.status in (*LIVE_STATUSES, Status.CLOSED) and directive.planned_at is not None
    failing = Message.objects.filter(directive=directive, state=MessageState.FAILED)
    if not access.own:
        failing = failing.filter(delivery__unit__path__startswith=access.home.path)
    my_groups = (
        GroupDelivery.objects.filter(
            directive=directive, group_id__in=GroupLiaison.objects.filter(user=user).values("group_id")
        )
        .select_related("group")
        .order_by("pk")[:50]
        if live
        else []
    )
    context = {
        "directive": directive,
        "access": access,
        "root": root,
        "breadcrumb": [u for u in root.breadcrumb() if u.path.startswith(access.home.path)],
        "targets": directive.targets.all(),
        "live": live,
        "can_write": user.can_write and access.own,
        "can_approve": directive.status == Status.PENDING and actions.can_approve(user, directive),
        "editable": directive.status in actions.EDITABLE and access.own,
        "poll": int(conf.get("REACH_POLL_SECONDS")),
        "failed_messages": failing.count() if live else 0,
        "my_groups": my_groups,
        "decision_form": DecisionForm(),
    }
    if live:
        context["reach"] = reach.cached(directive, root)
        context["sla"] = reach.sla_state(directive)
    return render(request, "mobilize/detail.html", context)


@login_required
@require_GET
def reach_panel(request, pk):
    access = _access(request, pk)
    directive = access.directive
    root = _root(request, access)
    if directive.planned_at is None:
        return render(
            request,
            "mobilize/_planning.html",
            {"directive": directive, "poll": int(conf.get("REACH_POLL_SECONDS"))},
        )
    context = {
        "directive": directive,
        "root": root,
        "reach": reach.cached(directive, root),
        "sla": reach.sla_state(directive),
        "poll": int(conf.get("REACH_POLL_SECONDS")),
        "access": access,
    }
    return render(request, "mobilize/_reach.html", context)


@login_required
@require_GET
def silent_groups(request, pk):
    access = _access(request, pk)
    root = _root(request, access)
    rows = (
        GroupDelivery.objects.visible_to(request.user)
        .filter(directive=access.directive, unit__path__startswith=root.path)
        .select_related("group", "unit", "acked_by")
    )
    show = request.GET.get("show", "silent")
    if show == "silent":
        rows = rows.filter(acked_at__isnull=True)
    elif show == "failed":
        rows = rows.filter(state="failed")
    elif show == "relay":
        rows = rows.filter(state="relay")
    page = paginate(request, rows.order_by("unit__path", "pk"), 20)
    liaisons: dict[int, list[str]] = {}
    for lz in GroupLiaison.objects.filter(group_id__in=[d.group_id for d in page]).select_related(
        "user", "person"
    ):
        liaisons.setdefault(lz.group_id, []).append(lz.display_name)
    for delivery in page:
        delivery.liaison_names = "、".join(liaisons.get(delivery.group_id, [])) or "—"
    context = {
        "page_obj": page,
        "directive": access.directive,
        "root": root,
        "show": show,
        "can_write": request.user.can_write,
    }
    return render(request, "mobilize/_silent_groups.html", context)


@login_required
@require_GET
def silent_people(request, pk):
    access = _access(request, pk)
    root = _root(request, access)
    rows = Receipt.objects.visible_to(request.user).filter(directive=access.directive)
    rows = rows.filter(unit_id__in=OrgUnit.objects.filter(path__startswith=root.path).values("pk"))
    show = request.GET.get("show", "silent")
    if show == "signed":
        rows = rows.filter(signed_up_at__isnull=False).order_by("signed_up_at", "pk")
    else:
        rows = rows.filter(acked_at__isnull=True).order_by("unit_id", "pk")
    page = paginate(request, rows.select_related("person", "unit", "group"), 20)
    return render(
        request,
        "mobilize/_silent_people.html",
        {"page_obj": page, "directive": access.directive, "root": root, "show": show},
    )


@login_required
@require_GET
def escalations(request, pk):
    access = _access(request, pk)
    rows = Escalation.objects.visible_to(request.user).filter(directive=access.directive)
    rows = rows.filter(delivery__unit__path__startswith=_root(request, access).path)
    page = paginate(request, rows.select_related("delivery__group", "delivery__unit", "cadre_unit"), 20)
    return render(request, "mobilize/_escalations.html", {"page_obj": page, "directive": access.directive})


@login_required
@require_GET
def export(request, pk):
    access = _access(request, pk)
    root = _root(request, access)
    handle, count = exporting.reach_workbook(access.directive, root, request.user)
    record(
        request.user,
        "export",
        access.directive,
        details={"kind": "reach", "unit": root.code, "rows": count, "unmasked": request.user.can_unmask},
    )
    name = f"指令触达_{access.directive.pk}_{root.code}_{timezone.localtime():%Y%m%d%H%M}.xlsx"
    return FileResponse(handle, as_attachment=True, filename=name)
