"""Publishing (发布) of notices and showcases with read receipts, and the key-city checklist."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.accounts.models import User
from tuanju.core.views import paginate
from tuanju.hierarchy.models import OrgUnit

from . import actions
from .forms import ChecklistItemsForm, EntryForm, PublicationForm, TrackForm, units_from_codes
from .models import (
    ChecklistEntry,
    ChecklistTarget,
    ChecklistTemplate,
    EntryStatus,
    Publication,
    PublicationKind,
    PublicationStatus,
    ReadReceipt,
)
from .views import visible_unit

# --- publications -----------------------------------------------------------------------------


def _publication(request, pk: int) -> Publication:
    return get_object_or_404(Publication.objects.visible_to(request.user).select_related("unit", "created_by"), pk=pk)


def _can_edit(user, publication: Publication) -> bool:
    return user.can_write and (user.is_superuser or (user.unit_id and publication.unit.path.startswith(user.unit.path)))


@login_required
@require_GET
def publication_list(request):
    user = request.user
    items = Publication.objects.visible_to(user).select_related("unit")
    kind = request.GET.get("kind", "")
    if kind in PublicationKind.values:
        items = items.filter(kind=kind)
    mine = request.GET.get("mine") == "1"
    if mine and user.unit_id:
        items = items.filter(unit__path__startswith=user.unit.path)
    else:  # published items, and the drafts of the user's own subtree
        home = user.unit.path if user.unit_id else ""
        items = items.filter(Q(status=PublicationStatus.PUBLISHED) | Q(unit__path__startswith=home))
    if term := request.GET.get("q", "").strip()[:50]:
        items = items.filter(title__contains=term)
    read = ReadReceipt.objects.filter(publication=OuterRef("pk"), user=user)
    items = items.annotate(is_read=Exists(read), readers=Count("receipts", distinct=True)).order_by(
        "-published_at", "-id"
    )
    context = {
        "page_obj": paginate(request, items, per_page=30),
        "kinds": PublicationKind.choices,
        "kind": kind,
        "mine": mine,
        "q": request.GET.get("q", ""),
        "can_write": user.can_write,
    }
    return render(request, "insights/publications.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def publication_edit(request, pk: int | None = None):
    user = request.user
    actions.require_writer(user)
    publication = _publication(request, pk) if pk else Publication(unit=visible_unit(request, None))
    if pk and not _can_edit(user, publication):
        raise PermissionDenied(_("Only the publishing unit may edit this."))
    initial = {f: getattr(publication, f) for f in ("kind", "title", "summary", "body", "is_public")} if pk else {}
    if not pk and request.GET.get("kind") in PublicationKind.values:
        initial["kind"] = request.GET["kind"]
    form = PublicationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            publication = actions.save_publication(publication, actor=user, data=form.cleaned_data)
            if request.POST.get("publish") == "1":
                actions.publish(publication, actor=user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("insights:publication", pk=publication.pk)
    return render(request, "insights/publication_form.html", {"form": form, "publication": publication})


@login_required
@require_GET
def publication_detail(request, pk: int):
    publication = _publication(request, pk)
    user = request.user
    if publication.status != PublicationStatus.PUBLISHED and not _can_edit(user, publication):
        from django.http import Http404

        raise Http404
    actions.mark_publication_read(publication, user)
    can_edit = _can_edit(user, publication)
    context = {
        "publication": publication,
        "can_edit": can_edit,
        "receipts": receipt_summary(publication) if can_edit else None,
    }
    return render(request, "insights/publication.html", context)


def receipt_summary(publication: Publication) -> dict:
    """Staff of the publisher's subtree who read it: in total and per child unit."""
    unit = publication.unit
    staff = User.objects.filter(is_active=True, unit__path__startswith=unit.path)
    readers = ReadReceipt.objects.filter(publication=publication, unit__path__startswith=unit.path)
    staff_by_child = unit.child_rollup(staff, "unit__path", include_self_level=True)
    read_by_child = unit.child_rollup(readers, "unit__path", include_self_level=True)
    children = {c.path: c for c in OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1)}
    rows = []
    for path, total in sorted(staff_by_child.items()):
        name = children[path].name if path in children else unit.name
        rows.append({"name": name, "staff": total, "read": read_by_child.get(path, 0)})
    return {
        "staff": staff.count(),
        "read": readers.count(),
        "rows": rows,
        "latest": readers.select_related("user", "unit").order_by("-read_at")[:20],
    }


@login_required
@require_POST
def publication_publish(request, pk: int):
    publication = _publication(request, pk)
    if not _can_edit(request.user, publication):
        raise PermissionDenied(_("Only the publishing unit may publish this."))
    actions.publish(publication, actor=request.user, withdraw=request.POST.get("withdraw") == "1")
    return redirect("insights:publication", pk=publication.pk)


@login_required
@require_GET
def publication_unread(request, pk: int):
    """Staff of the publisher's subtree who have not read it (paginated)."""
    publication = _publication(request, pk)
    if not _can_edit(request.user, publication):
        raise PermissionDenied
    read = ReadReceipt.objects.filter(publication=publication).values("user_id")
    staff = (
        User.objects.filter(is_active=True, unit__path__startswith=publication.unit.path)
        .exclude(pk__in=read)
        .select_related("unit")
        .order_by("unit__path", "username")
    )
    return render(request, "insights/publication_unread.html", {"publication": publication, "page_obj": paginate(request, staff)})


# --- key-city checklist -------------------------------------------------------------------------


@login_required
@require_GET
def checklists(request):
    user = request.user
    templates = list(ChecklistTemplate.objects.filter(is_active=True))
    chosen = None
    if templates:
        wanted = request.GET.get("t", "")
        chosen = next((t for t in templates if str(t.pk) == wanted), templates[0])
    unit = visible_unit(request, request.GET.get("unit"))
    rows, items, totals = [], [], {}
    if chosen is not None:
        items = list(chosen.items.all())
        targets = list(
            ChecklistTarget.objects.visible_to(user)
            .filter(template=chosen, unit__path__startswith=unit.path)
            .select_related("unit")
            .order_by("unit__path")
        )
        entries: dict[tuple[int, int], ChecklistEntry] = {
            (e.target_id, e.item_id): e
            for e in ChecklistEntry.objects.filter(target__in=[t.pk for t in targets]).only(
                "id", "target_id", "item_id", "status", "evidence", "note"
            )
        }
        for target in targets:
            cells = [entries.get((target.pk, item.pk)) for item in items]
            done = sum(1 for c in cells if c and c.status in (EntryStatus.DONE, EntryStatus.VERIFIED))
            rows.append((target, cells, done))
        for i, item in enumerate(items):
            totals[item.pk] = sum(
                1 for _t, cells, _d in rows if cells[i] and cells[i].status in (EntryStatus.DONE, EntryStatus.VERIFIED)
            )
    context = {
        "templates": templates,
        "template": chosen,
        "items": items,
        "rows": rows,
        "item_totals": [totals.get(i.pk, 0) for i in items],
        "unit": unit,
        "track_form": TrackForm(),
        "can_write": user.can_write,
        "can_manage": user.can_manage_units,
        "statuses": dict(EntryStatus.choices),
    }
    return render(request, "insights/checklists.html", context)


@login_required
@require_POST
def checklist_track(request, pk: int):
    template = get_object_or_404(ChecklistTemplate, pk=pk)
    actions.require_writer(request.user)
    form = TrackForm(request.POST)
    home = request.user.unit or OrgUnit.objects.filter(depth=1).first()
    if form.is_valid():
        try:
            units = units_from_codes(form.cleaned_data["codes"], under=home) if not request.user.is_superuser else list(
                OrgUnit.objects.filter(code__in=form.cleaned_data["codes"].split())
            )
            for unit in units:
                actions.track_unit(template, unit, actor=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Saved."))
    return redirect(f"{_checklists_url()}?t={template.pk}")


def _checklists_url() -> str:
    from django.urls import reverse

    return reverse("insights:checklists")


@login_required
@require_http_methods(["GET", "POST"])
def checklist_entry(request, pk: int):
    entry = get_object_or_404(
        ChecklistEntry.objects.visible_to(request.user).select_related("target", "target__unit", "item", "updated_by"),
        pk=pk,
    )
    form = EntryForm(request.POST or None, request.FILES or None, initial={"status": entry.status, "note": entry.note})
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_entry(
                entry,
                actor=request.user,
                status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
                upload=form.cleaned_data.get("evidence"),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"{_checklists_url()}?t={entry.target.template_id}")
    return render(request, "insights/checklist_entry.html", {"entry": entry, "form": form, "can_write": request.user.can_write})


@login_required
@require_http_methods(["GET", "POST"])
def checklist_items(request, pk: int):
    template = get_object_or_404(ChecklistTemplate, pk=pk)
    if not request.user.can_manage_units:
        raise PermissionDenied(_("Only administrators may configure checklists."))
    form = ChecklistItemsForm(
        request.POST or None, initial={"items": "\n".join(i.title for i in template.items.all())}
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_checklist_items(template, actor=request.user, titles=form.cleaned_data["items"].splitlines())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"{_checklists_url()}?t={template.pk}")
    return render(request, "insights/checklist_items.html", {"template": template, "form": form})
