from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tuanju.accounts.models import User
from tuanju.core.views import paginate
from tuanju.hierarchy import actions
from tuanju.hierarchy.forms import UnitCreateForm, UnitPickForm, UnitRenameForm
from tuanju.hierarchy.models import Level, OrgUnit


def _visible_unit(request, pk) -> OrgUnit:
    return get_object_or_404(OrgUnit.objects.visible_to(request.user), pk=pk)


def _roots(user):
    if user.is_superuser:
        return OrgUnit.objects.get_root_nodes()
    return OrgUnit.objects.filter(pk=user.unit_id) if user.unit_id else OrgUnit.objects.none()


@login_required
def tree(request):
    term = request.GET.get("q", "").strip()[:50]
    context = {"q": term, "roots": _roots(request.user)}
    if term:
        results = OrgUnit.objects.visible_to(request.user).search(term)
        level = request.GET.get("level", "")
        if level in Level.values:
            results = results.filter(level=level)
        context["page_obj"] = paginate(request, results)
        context["levels"] = Level.choices
        context["level"] = level
    return render(request, "hierarchy/tree.html", context)


@login_required
def children(request, pk):
    unit = _visible_unit(request, pk)
    return render(request, "hierarchy/_children.html", {"children": OrgUnit.objects.get_children(unit)})


@login_required
def detail(request, pk):
    unit = _visible_unit(request, pk)
    descendants = unit.child_rollup(OrgUnit.objects.filter(depth__gt=unit.depth + 1))
    staff = unit.child_rollup(User.objects.filter(is_active=True), "unit__path")
    children = list(OrgUnit.objects.get_children(unit))
    for child in children:
        child.descendant_count = descendants.get(child.path, 0)
        child.staff_count = staff.get(child.path, 0)
    by_level = (
        unit.subtree().filter(depth__gt=unit.depth).values("level").annotate(n=Count("pk")).order_by("depth")
    )
    level_labels = dict(Level.choices)
    context = {
        "unit": unit,
        "breadcrumb": unit.breadcrumb(),
        "children": children,
        "by_level": [(level_labels[row["level"]], row["n"]) for row in by_level],
        "own_staff": User.objects.filter(unit=unit, is_active=True).order_by("username"),
        "can_manage": request.user.can_manage_units,
    }
    return render(request, "hierarchy/detail.html", context)


def _require_manager(request):
    if not request.user.can_manage_units:
        raise PermissionDenied(_("Only administrators may change units."))


def _unit_form_view(request, pk, *, form_class, title, handle, template="hierarchy/form.html", initial=None):
    """The shared GET/POST cycle of every unit-changing form; ``handle`` runs the action."""
    unit = _visible_unit(request, pk)
    _require_manager(request)
    kwargs = {"user": request.user} if form_class is UnitPickForm else {}
    form = form_class(request.POST or None, initial=initial(unit) if initial else None, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            result = handle(unit, form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("hierarchy:detail", pk=result.pk)
    return render(
        request, template, {"unit": unit, "form": form, "title": title, "breadcrumb": unit.breadcrumb()}
    )


@login_required
@require_http_methods(["GET", "POST"])
def create_child(request, pk):
    return _unit_form_view(
        request,
        pk,
        form_class=UnitCreateForm,
        title=_("Add a unit below"),
        handle=lambda unit, data: actions.create_unit(parent=unit, actor=request.user, **data),
    )


@login_required
@require_http_methods(["GET", "POST"])
def rename(request, pk):
    return _unit_form_view(
        request,
        pk,
        form_class=UnitRenameForm,
        title=_("Rename"),
        initial=lambda unit: {"name": unit.name, "kind": unit.kind},
        handle=lambda unit, data: actions.rename_unit(unit, actor=request.user, **data),
    )


@login_required
@require_http_methods(["GET", "POST"])
def move(request, pk):
    return _unit_form_view(
        request,
        pk,
        form_class=UnitPickForm,
        title=_("Move under another parent"),
        handle=lambda unit, data: actions.move_unit(unit, new_parent=data["unit"], actor=request.user),
    )


@login_required
@require_http_methods(["GET", "POST"])
def merge(request, pk):
    return _unit_form_view(
        request,
        pk,
        form_class=UnitPickForm,
        title=_("Merge into another unit"),
        handle=lambda unit, data: actions.merge_units(unit, into=data["unit"], actor=request.user),
    )
