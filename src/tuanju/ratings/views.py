"""Liaison star rating pages: ranking per unit and period, a liaison's breakdown, the published
formula, benefits with their eligibility lists and grants, exports. Scope: ``visible_to``."""

from __future__ import annotations

import tempfile
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.audit.actions import record
from tuanju.core.views import paginate
from tuanju.hierarchy.models import OrgUnit
from tuanju.imports.xlsx import StreamingSheetWriter

from . import actions, sources
from . import formula as formulas
from .forms import FormulaForm, GrantForm, RevokeForm
from .models import Benefit, BenefitGrant, Formula, LiaisonRating, PeriodKind, period_bounds, period_label


def _unit(request) -> OrgUnit:
    code = (request.GET.get("unit") or request.POST.get("unit") or "").strip()[:32]
    if code:
        return get_object_or_404(OrgUnit.objects.visible_to(request.user), code=code)
    if request.user.unit_id:
        return request.user.unit
    root = OrgUnit.objects.visible_to(request.user).order_by("path").first()
    if root is None:
        raise PermissionDenied(_("Your account is not bound to a unit."))
    return root


def _period(request) -> tuple[str, date]:
    kind = request.GET.get("period") or request.POST.get("period") or PeriodKind.MONTH
    if kind not in PeriodKind.values:
        kind = PeriodKind.MONTH
    text = (request.GET.get("start") or request.POST.get("start") or "").strip()
    today = timezone.localdate()
    try:
        parts = [int(p) for p in text.split("-")[:2]]
        day = date(parts[0], parts[1] if len(parts) > 1 else 1, 1)
    except (ValueError, IndexError):
        day = today
    return kind, period_bounds(kind, day)[0]


def _ratings(request, unit: OrgUnit, kind: str, start: date):
    rows = LiaisonRating.objects.visible_to(request.user).in_subtree(unit).for_period(kind, start)
    stars = request.GET.get("stars", "")
    if stars.isdigit() and 1 <= int(stars) <= 5:
        rows = rows.filter(stars__gte=int(stars))
    q = (request.GET.get("q") or "").strip()[:30]
    if q:
        rows = rows.filter(name__contains=q)
    return rows.select_related("unit", "formula").order_by("-score", "name", "pk"), stars, q


def metric_text(metric, value) -> str:
    if value is None:
        return "—"
    if metric.kind == "share":
        return f"{100 * float(value):.0f}%"
    number = float(value)
    return f"{number:.0f}" if number == int(number) else f"{number:.1f}"


def _periods(kind: str, start: date) -> list[tuple[str, str]]:
    """The period selector: the last 12 months / 8 quarters / 4 years."""
    today = timezone.localdate()
    options = []
    cursor = period_bounds(kind, today)[0]
    count = {"month": 12, "quarter": 8, "year": 4}[kind]
    for _i in range(count):
        options.append((cursor.strftime("%Y-%m"), period_label(kind, cursor)))
        back = date(cursor.year, cursor.month, 1)
        months = {"month": 1, "quarter": 3, "year": 12}[kind]
        index = back.year * 12 + back.month - 1 - months
        cursor = date(index // 12, index % 12 + 1, 1)
    key = start.strftime("%Y-%m")
    if key not in {k for k, _l in options}:
        options.insert(0, (key, period_label(kind, start)))
    return options


@login_required
@require_GET
def ranking(request):
    unit = _unit(request)
    kind, start = _period(request)
    rows, stars, q = _ratings(request, unit, kind, start)
    page = paginate(request, rows, 50)
    offset = (page.number - 1) * 50
    for i, rating in enumerate(page, start=1):
        rating.rank = offset + i
        rating.cells = [metric_text(m, rating.metrics.get(m.key)) for m in sources.METRICS]
    all_rows = LiaisonRating.objects.visible_to(request.user).in_subtree(unit).for_period(kind, start)
    distribution = dict(all_rows.values_list("stars").annotate(n=Count("pk")).order_by())
    children = list(
        OrgUnit.objects.visible_to(request.user)
        .filter(path__startswith=unit.path, depth=unit.depth + 1)
        .order_by("path")
    )
    child_rollup = unit.child_rollup(all_rows.filter(stars__gte=3), "unit__path") if children else {}
    child_totals = unit.child_rollup(all_rows, "unit__path") if children else {}
    context = {
        "unit": unit,
        "breadcrumb": [
            u
            for u in unit.breadcrumb()
            if request.user.is_superuser or u.path.startswith(request.user.unit.path)
        ],
        "kind": kind,
        "start": start,
        "label": period_label(kind, start),
        "periods": _periods(kind, start),
        "kinds": PeriodKind.choices,
        "page_obj": page,
        "params": {"stars": stars, "q": q},
        "distribution": [(s, distribution.get(s, 0)) for s in range(5, 0, -1)],
        "total": sum(distribution.values()),
        "children": [
            (c, child_totals.get(c.path, 0), child_rollup.get(c.path, 0))
            for c in children
            if child_totals.get(c.path)
        ],
        "metrics": sources.METRICS,
        "measured": sources.measured_metrics(),
        "can_write": request.user.can_write,
        "benefits": Benefit.objects.filter(is_active=True),
        "formula": formulas.current(),
    }
    return render(request, "ratings/ranking.html", context)


@login_required
@require_POST
def compute(request):
    if not request.user.can_write:
        raise PermissionDenied(_("Your role may not compute ratings."))
    unit = _unit(request)
    kind, start = _period(request)
    result = actions.compute(unit, kind, start, actor=request.user)
    messages.success(
        request,
        _("Rated %(n)s liaisons for %(period)s in %(s).1f s.")
        % {"n": result.liaisons, "period": period_label(kind, start), "s": result.seconds},
    )
    return redirect(f"{reverse('ratings:ranking')}?unit={unit.code}&period={kind}&start={start:%Y-%m}")


@login_required
@require_GET
def detail(request, pk):
    rating = get_object_or_404(
        LiaisonRating.objects.visible_to(request.user).select_related("unit", "formula", "person", "user"),
        pk=pk,
    )
    history = (
        LiaisonRating.objects.visible_to(request.user)
        .filter(person_id=rating.person_id, user_id=rating.user_id, period=rating.period)
        .order_by("-period_start")[:12]
    )
    breakdown = []
    for metric in sources.METRICS:
        entry = rating.points.get(metric.key)
        if entry is None:
            continue
        breakdown.append((metric, entry))
    grants = rating.grants.select_related("benefit", "granted_by", "revoked_by")
    held = {g.benefit_id for g in grants if g.revoked_at is None}
    context = {
        "rating": rating,
        "breakdown": breakdown,
        "history": history,
        "grants": grants,
        "available": [
            b
            for b in Benefit.objects.filter(is_active=True)
            if b.min_stars <= rating.stars and b.pk not in held
        ],
        "can_write": request.user.can_write,
        "grant_form": GrantForm(),
        "revoke_form": RevokeForm(),
        "extra": {k: v for k, v in rating.metrics.items() if k in ("directives", "ack_median_minutes")},
    }
    return render(request, "ratings/detail.html", context)


@login_required
@require_GET
def formula_page(request):
    current = formulas.current()
    form = FormulaForm(formula=current) if request.user.can_manage_units else None
    context = {
        "formula": current,
        "versions": Formula.objects.select_related("published_by")[:20],
        "metrics": sources.METRICS,
        "measured": sources.measured_metrics(),
        "form": form,
        "thresholds": list(zip(range(2, 6), current.thresholds, strict=False)),
        "rows": [(m, current.weights.get(m.key, 0), current.targets.get(m.key)) for m in sources.METRICS],
    }
    return render(request, "ratings/formula.html", context)


@login_required
@require_POST
def formula_publish(request):
    if not request.user.can_manage_units:
        raise PermissionDenied(_("Only administrators publish the formula."))
    form = FormulaForm(request.POST)
    if form.is_valid():
        try:
            new = actions.publish_formula(actor=request.user, **form.payload())
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
        else:
            messages.success(
                request,
                _("Formula v%(v)s published. Recompute the ratings to apply it.") % {"v": new.version},
            )
            return redirect("ratings:formula")
    current = formulas.current()
    context = {
        "formula": current,
        "versions": Formula.objects.select_related("published_by")[:20],
        "metrics": sources.METRICS,
        "measured": sources.measured_metrics(),
        "form": form,
        "thresholds": list(zip(range(2, 6), current.thresholds, strict=False)),
        "rows": [(m, current.weights.get(m.key, 0), current.targets.get(m.key)) for m in sources.METRICS],
    }
    return render(request, "ratings/formula.html", context, status=400)


@login_required
@require_GET
def benefits(request):
    unit = _unit(request)
    kind, start = _period(request)
    ratings = LiaisonRating.objects.visible_to(request.user).in_subtree(unit).for_period(kind, start)
    grants = BenefitGrant.objects.visible_to(request.user).active().filter(rating__in=ratings)
    granted = dict(grants.values_list("benefit_id").annotate(n=Count("pk")).order_by())
    rows = [
        (b, actions.eligible(b, ratings).count(), granted.get(b.pk, 0))
        for b in Benefit.objects.filter(is_active=True)
    ]
    context = {
        "unit": unit,
        "kind": kind,
        "start": start,
        "label": period_label(kind, start),
        "rows": rows,
        "periods": _periods(kind, start),
        "kinds": PeriodKind.choices,
    }
    return render(request, "ratings/benefits.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def benefit(request, code):
    item = get_object_or_404(Benefit, code=code, is_active=True)
    unit = _unit(request)
    kind, start = _period(request)
    ratings = LiaisonRating.objects.visible_to(request.user).in_subtree(unit).for_period(kind, start)
    form = GrantForm(request.POST or None, initial={"amount": item.default_amount})
    if request.method == "POST":
        if not request.user.can_write:
            raise PermissionDenied(_("Your role may not grant benefits."))
        ids = [int(i) for i in request.POST.getlist("ratings") if i.isdigit()]
        chosen = list(ratings.filter(pk__in=ids).select_related("unit"))
        if not chosen:
            messages.error(request, _("Select at least one liaison."))
        elif form.is_valid():
            try:
                made = actions.grant(
                    chosen,
                    item,
                    actor=request.user,
                    amount=form.cleaned_data.get("amount"),
                    note=form.cleaned_data.get("note", ""),
                )
            except ValidationError as exc:
                for error in exc.messages:
                    messages.error(request, error)
            else:
                messages.success(request, _("Granted to %(n)s liaisons.") % {"n": len(made)})
                return redirect(
                    f"{reverse('ratings:benefit', args=[code])}?unit={unit.code}&period={kind}&start={start:%Y-%m}"
                )
    eligible = actions.eligible(item, ratings).select_related("unit").order_by("-score", "name")
    granted = (
        BenefitGrant.objects.visible_to(request.user)
        .filter(benefit=item, rating__in=ratings)
        .select_related("rating__unit", "granted_by", "revoked_by")
        .order_by("-granted_at")
    )
    context = {
        "benefit": item,
        "unit": unit,
        "kind": kind,
        "start": start,
        "label": period_label(kind, start),
        "page_obj": paginate(request, eligible, 100),
        "granted": granted[:200],
        "form": form,
        "can_write": request.user.can_write,
        "periods": _periods(kind, start),
        "kinds": PeriodKind.choices,
        "revoke_form": RevokeForm(),
    }
    return render(request, "ratings/benefit.html", context)


@login_required
@require_POST
def grant_one(request, pk):
    rating = get_object_or_404(LiaisonRating.objects.visible_to(request.user).select_related("unit"), pk=pk)
    item = get_object_or_404(Benefit, pk=request.POST.get("benefit"), is_active=True)
    form = GrantForm(request.POST)
    if form.is_valid():
        try:
            actions.grant(
                [rating],
                item,
                actor=request.user,
                amount=form.cleaned_data.get("amount"),
                note=form.cleaned_data.get("note", ""),
            )
            messages.success(request, _("Benefit granted."))
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
    return redirect("ratings:detail", pk=pk)


@login_required
@require_POST
def revoke(request, pk):
    item = get_object_or_404(
        BenefitGrant.objects.visible_to(request.user).select_related("rating__unit", "benefit"), pk=pk
    )
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for revoking it."))
    else:
        try:
            actions.revoke(item, actor=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("Benefit revoked."))
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
    target = request.POST.get("next") or reverse("ratings:detail", args=[item.rating_id])
    return redirect(
        target
        if target.startswith("/") and not target.startswith("//")
        else reverse("ratings:detail", args=[item.rating_id])
    )


@login_required
@require_GET
def export(request):
    unit = _unit(request)
    kind, start = _period(request)
    rows, _stars, _q = _ratings(request, unit, kind, start)
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the response closes it
    writer = StreamingSheetWriter(handle, "星级评价")
    labels = [m.label for m in sources.METRICS]
    writer.header(
        ["名次", "联络员", "单位", "编码", "联系群数", "星级", "得分", *labels, "已获福利", "公式版本"],
        [6, 12, 20, 18, 8, 6, 8, *([12] * len(labels)), 30, 8],
    )
    held: dict[int, list[str]] = {}
    for rating_id, name in (
        BenefitGrant.objects.active().filter(rating__in=rows).values_list("rating_id", "benefit__name")
    ):
        held.setdefault(rating_id, []).append(name)
    count = 0
    for rank, r in enumerate(rows.iterator(chunk_size=2000), start=1):
        values = []
        for m in sources.METRICS:
            v = r.metrics.get(m.key)
            values.append("" if v is None else (round(100 * v, 1) if m.kind == "share" else v))
        writer.write(
            [
                rank,
                r.name,
                r.unit.name,
                r.unit.code,
                r.groups,
                r.stars,
                r.score,
                *values,
                "、".join(held.get(r.pk, [])),
                r.formula.version,
            ]
        )
        count += 1
    writer.add_sheet("福利发放记录")
    writer.header(
        [
            "联络员",
            "单位",
            "福利",
            "数量",
            "星级",
            "发放人",
            "发放时间",
            "撤销时间",
            "撤销人",
            "撤销原因",
            "备注",
        ],
        [12, 20, 12, 8, 6, 12, 17, 17, 12, 20, 20],
    )
    for g in (
        BenefitGrant.objects.visible_to(request.user)
        .filter(rating__in=rows)
        .select_related("rating__unit", "benefit", "granted_by", "revoked_by")
        .order_by("granted_at")
        .iterator(chunk_size=2000)
    ):
        writer.write(
            [
                g.rating.name,
                g.rating.unit.name,
                g.benefit.name,
                float(g.amount) if g.amount is not None else "",
                g.stars_at_grant,
                g.granted_by.display_name if g.granted_by else "",
                timezone.localtime(g.granted_at),
                timezone.localtime(g.revoked_at) if g.revoked_at else "",
                g.revoked_by.display_name if g.revoked_by else "",
                g.revoke_reason,
                g.note,
            ]
        )
    writer.close()
    handle.seek(0)
    record(
        request.user,
        "export",
        unit,
        details={"kind": "liaison_ratings", "period": kind, "start": start.isoformat(), "rows": count},
    )
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"青春联络员星级评价_{unit.code}_{period_label(kind, start)}.xlsx",
    )
