"""The weekly ledger (周台账), its evaluation and ranking, and their exports (xlsx, PDF)."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.audit.actions import record
from tuanju.hierarchy.models import Level, OrgUnit

from . import actions, exporting, ledgers, report, scoring
from .forms import LedgerForm, LedgerSchemaForm, ReasonForm, SchemeForm
from .models import Evaluation, Ledger, LedgerSchema, ScoringScheme, week_start
from .views import visible_unit


def _week(request, default: date) -> date:
    try:
        return week_start(date.fromisoformat(request.GET.get("week", "")[:10]))
    except ValueError:
        return default


def _errors(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


@login_required
@require_GET
def board_view(request):
    unit = visible_unit(request, request.GET.get("unit"))
    week = _week(request, ledgers.last_week())
    board = ledgers.board(unit, week)
    own = Ledger.objects.visible_to(request.user).filter(unit=unit, week_start=week).first()
    context = {
        "unit": unit,
        "board": board,
        "week": week,
        "week_end": week + timedelta(days=6),
        "prev": week - timedelta(days=7),
        "next": week + timedelta(days=7) if week < ledgers.current_week() else None,
        "own": own,
        "rows": [(row, [row.ledger.value(f.key) if row.ledger else None for f in board.fields]) for row in board.rows],
        "totals": [board.totals().get(f.key) for f in board.fields],
        "can_write": request.user.can_write,
    }
    return render(request, "insights/ledgers.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def ledger_view(request, pk: int):
    ledger = get_object_or_404(Ledger.objects.visible_to(request.user).select_related("unit", "submitted_by"), pk=pk)
    schema = LedgerSchema.objects.filter(level=ledger.unit.level).first()
    fields = ledgers.schema_fields(schema) if schema else []
    form = LedgerForm(request.POST or None, fields=fields, ledger=ledger)
    if request.method == "POST":
        if not actions.can_submit_ledger(request.user, ledger):
            raise PermissionDenied(_("Your role may not submit ledgers."))
        if form.is_valid():
            try:
                actions.submit_ledger(
                    ledger,
                    actor=request.user,
                    manual=form.manual(),
                    highlights=form.cleaned_data["highlights"],
                    problems=form.cleaned_data["problems"],
                )
            except ValidationError as exc:
                _errors(request, exc)
            else:
                messages.success(request, _("The ledger was submitted."))
                return redirect("insights:ledger", pk=ledger.pk)
    parent = OrgUnit.objects.filter(path=ledger.unit.path[: -OrgUnit.steplen]).first()
    history = list(
        Ledger.objects.filter(unit=ledger.unit).order_by("-week_start").values_list("pk", "week_start", "status", "late")[:12]
    )
    context = {
        "ledger": ledger,
        "fields": [(f, ledger.figures.get(f.key), ledger.manual.get(f.key)) for f in fields],
        "form": form,
        "can_submit": actions.can_submit_ledger(request.user, ledger) and ledger.status != "submitted",
        "can_return": request.user.can_write
        and ledger.status == "submitted"
        and parent is not None
        and request.user.unit_id != ledger.unit_id
        and (request.user.is_superuser or parent.path.startswith(request.user.unit.path)),
        "return_form": ReasonForm(),
        "history": history,
        "parent": parent,
    }
    return render(request, "insights/ledger.html", context)


@login_required
@require_POST
def ledger_return(request, pk: int):
    ledger = get_object_or_404(Ledger.objects.visible_to(request.user).select_related("unit"), pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请填写退回原因。")
        return redirect("insights:ledger", pk=pk)
    try:
        actions.return_ledger(ledger, actor=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("The ledger was returned for revision."))
    return redirect("insights:ledger", pk=pk)


@login_required
@require_GET
def ledger_history(request, code: str):
    unit = visible_unit(request, code)
    rows = list(Ledger.objects.filter(unit=unit).order_by("-week_start")[:53])
    schema = LedgerSchema.objects.filter(level=unit.level).first()
    fields = ledgers.schema_fields(schema) if schema else []
    context = {
        "unit": unit,
        "rows": [(row, [row.value(f.key) for f in fields]) for row in rows],
        "fields": fields,
        "chart": {
            "labels": [r.week_start.strftime("%m-%d") for r in reversed(rows)],
            "series": [
                {"name": str(f.label), "values": [r.value(f.key) or 0 for r in reversed(rows)]} for f in fields[:6]
            ],
        },
    }
    return render(request, "insights/ledger_history.html", context)


@login_required
@require_GET
def ledgers_export(request):
    unit = visible_unit(request, request.GET.get("unit"))
    week = _week(request, ledgers.last_week())
    board = ledgers.board(unit, week)
    content = exporting.ledgers_xlsx(board)
    record(request.user, "export", unit, details={"kind": "ledgers_xlsx", "week": week.isoformat(), "rows": len(board.rows)})
    return xlsx_response(content, f"周台账-{unit.name}-{week:%Y%m%d}.xlsx")


@login_required
@require_GET
def ranking_view(request):
    unit = visible_unit(request, request.GET.get("unit"))
    level = ledgers.reporting_level(unit)
    scheme = ScoringScheme.objects.filter(unit=unit, is_active=True).first()
    weeks = []
    rows = []
    chosen = None
    if scheme is not None:
        weeks = list(
            Evaluation.objects.filter(scheme=scheme).order_by("-period_start").values_list("period_start", flat=True).distinct()[:53]
        )
        chosen = _week(request, weeks[0]) if weeks else None
        rows = list(Evaluation.objects.filter(scheme=scheme, period_start=chosen).select_related("unit").order_by("rank"))
    history = exporting.ranking_history(scheme, 26) if scheme else {"weeks": [], "units": []}
    context = {
        "unit": unit,
        "level": level,
        "level_label": dict(Level.choices).get(level, "") if level else "",
        "scheme": scheme,
        "weeks": weeks,
        "week": chosen,
        "rows": rows,
        "criteria": scoring.CRITERIA,
        "history": history,
        "score_chart": {
            "labels": history["weeks"],
            "max": 100,
            "series": [{"name": u["name"], "values": u["scores"]} for u in history["units"]],
        },
        "can_write": request.user.can_write,
    }
    return render(request, "insights/ranking.html", context)


@login_required
@require_POST
def evaluate_now(request):
    unit = visible_unit(request, request.POST.get("unit"))
    actions.require_writer(request.user)
    level = ledgers.reporting_level(unit)
    if level is None:
        messages.error(request, _("No units report a weekly ledger to this unit."))
        return redirect(f"{_url('insights:ranking')}?unit={unit.code}")
    scheme = scoring.default_scheme(unit, level)
    week = ledgers.last_week()
    results = scoring.evaluate(scheme, week)
    record(request.user, "evaluate", scheme, unit=unit, details={"week": week.isoformat(), "units": len(results)})
    messages.success(request, _("The ranking was computed."))
    return redirect(f"{_url('insights:ranking')}?unit={unit.code}")


def _url(name: str) -> str:
    from django.urls import reverse

    return reverse(name)


@login_required
@require_http_methods(["GET", "POST"])
def scheme_edit(request, pk: int):
    scheme = get_object_or_404(ScoringScheme.objects.select_related("unit"), pk=pk)
    actions.require_unit(request.user, scheme.unit)
    form = SchemeForm(request.POST or None, scheme=scheme)
    if request.method == "POST":
        actions.require_writer(request.user)
        if form.is_valid():
            try:
                actions.save_scheme(
                    scheme,
                    actor=request.user,
                    weights=form.weights(),
                    threshold=form.cleaned_data["threshold"],
                    bottom_share=form.cleaned_data["bottom_share"] / 100,
                )
            except ValidationError as exc:
                _errors(request, exc)
            else:
                messages.success(request, _("Saved. The next ranking uses the new weights."))
                return redirect(f"{_url('insights:ranking')}?unit={scheme.unit.code}")
    return render(request, "insights/scheme.html", {"scheme": scheme, "form": form, "unit": scheme.unit})


@login_required
@require_GET
def ranking_export(request):
    unit = visible_unit(request, request.GET.get("unit"))
    scheme = ScoringScheme.objects.filter(unit=unit, is_active=True).first()
    content = exporting.ranking_xlsx(scheme, unit)
    record(request.user, "export", unit, details={"kind": "ranking_xlsx"})
    return xlsx_response(content, f"评价排名-{unit.name}.xlsx")


@login_required
@require_GET
def report_pdf(request):
    unit = visible_unit(request, request.GET.get("unit"))
    week = _week(request, ledgers.last_week())
    pdf = report.render_pdf(unit, week, actor=request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(f'周报-{unit.name}-{week:%Y%m%d}.pdf')}"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def ledger_config(request):
    if not request.user.can_manage_units:
        raise PermissionDenied(_("Only administrators may configure the ledger."))
    levels = [lv for lv in Level.values if lv != Level.NATION]
    schemas = {s.level: s for s in LedgerSchema.objects.all()}
    forms_by_level = []
    for level in levels:
        schema = schemas.get(level) or LedgerSchema(level=level, fields=list(ledgers.DEFAULT_FIELDS), is_active=False)
        fields = schema.fields or []
        initial = {
            "is_active": schema.is_active and schema.pk is not None,
            "standard": [f for f in fields if isinstance(f, str)],
            "custom": "\n".join(f["label"] for f in fields if isinstance(f, dict)),
            "due_hours": schema.due_hours,
        }
        bound = request.method == "POST" and request.POST.get("level") == level
        form = LedgerSchemaForm(request.POST if bound else None, initial=initial, prefix=level)
        if bound and form.is_valid():
            actions.save_schema(
                schema,
                actor=request.user,
                fields=form.fields_value(),
                due_hours=form.cleaned_data["due_hours"],
                is_active=form.cleaned_data["is_active"],
            )
            messages.success(request, _("Saved."))
            return redirect("insights:ledger-config")
        forms_by_level.append((level, dict(Level.choices)[level], form))
    return render(request, "insights/ledger_config.html", {"forms": forms_by_level})
