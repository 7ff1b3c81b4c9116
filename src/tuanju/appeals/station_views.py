"""Service stations (暖心驿站、小哥加油站、筑梦空间、青年之家、流动团支部) for staff: registry,
service records (服务人次) with counts rolled up the unit tree, QR check-in posters, export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, Sum
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.appeals import actions, exporting, qr
from tuanju.appeals.filters import STATION_FILTER_KEYS, filter_stations
from tuanju.appeals.forms import ServiceRecordForm, StationForm
from tuanju.appeals.models import ServiceRecord, Station, StationKind, new_key
from tuanju.audit.actions import record
from tuanju.core.views import paginate
from tuanju.hierarchy.models import OrgUnit


def _visible(request, pk) -> Station:
    return get_object_or_404(
        Station.objects.visible_to(request.user).select_related("unit").prefetch_related("services"), pk=pk
    )


def _require_writer(request) -> None:
    if not request.user.can_write or request.user.department_id:
        raise PermissionDenied(_("Your role may not change service stations."))


def _rollup_unit(request):
    code = request.GET.get("unit", "").strip()[:32]
    if code:
        unit = OrgUnit.objects.visible_to(request.user).filter(code=code).first()
        if unit is not None:
            return unit
    return request.user.unit


@login_required
@require_GET
def station_list(request):
    today = timezone.localdate()
    scoped = Station.objects.visible_to(request.user)
    stations = filter_stations(scoped.select_related("unit").prefetch_related("services"), request.GET)
    stations = stations.annotate(
        served_year=Sum("records__people_count", filter=Q(records__served_on__year=today.year))
    )
    records = ServiceRecord.objects.visible_to(request.user)
    unit = _rollup_unit(request)
    rollup = []
    if unit is not None:
        station_counts = actions.child_rollup(unit, scoped, "unit__path")
        served = actions.child_rollup(unit, records, "unit__path", "people_count")
        served_year = actions.child_rollup(
            unit, records.filter(served_on__year=today.year), "unit__path", "people_count"
        )
        for child in OrgUnit.objects.filter(path__startswith=unit.path, depth=unit.depth + 1).order_by(
            "path"
        ):
            if station_counts.get(child.path) or served.get(child.path):
                rollup.append(
                    {
                        "unit": child,
                        "stations": station_counts.get(child.path, 0),
                        "served": served.get(child.path, 0),
                        "served_year": served_year.get(child.path, 0),
                    }
                )
        records = records.filter(unit__path__startswith=unit.path)
        scoped = scoped.filter(unit__path__startswith=unit.path)
    by_kind = dict(scoped.order_by().values_list("kind").annotate(n=Count("pk")))
    params = {key: request.GET.get(key, "") for key in STATION_FILTER_KEYS}
    context = {
        "page_obj": paginate(request, stations),
        "params": params,
        "filtered": any(params.values()),
        "kinds": StationKind.choices,
        "by_kind": [(label, by_kind.get(value, 0)) for value, label in StationKind.choices],
        "totals": actions.station_totals(records),
        "station_total": scoped.count(),
        "rollup": rollup,
        "rollup_unit": unit,
        "can_write": request.user.can_write and not request.user.department_id,
    }
    return render(request, "appeals/stations/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def station_edit(request, pk=None):
    _require_writer(request)
    station = _visible(request, pk) if pk else None
    form = StationForm(request.POST or None, user=request.user, instance=station)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.save_station(station or Station(), actor=request.user, **form.save_args())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("appeals:station-detail", pk=saved.pk)
    title = station.name if station else _("New service station")
    return render(request, "appeals/stations/form.html", {"form": form, "title": title, "station": station})


@login_required
@require_GET
def station_detail(request, pk):
    station = _visible(request, pk)
    records = ServiceRecord.objects.visible_to(request.user).filter(station=station)
    today = timezone.localdate()
    by_service = (
        records.filter(served_on__year=today.year)
        .order_by()
        .values("service__name")
        .annotate(n=Sum("people_count"))
        .order_by("-n")
    )
    context = {
        "station": station,
        "breadcrumb": station.unit.breadcrumb(),
        "totals": actions.station_totals(records),
        "by_service": [{"name": r["service__name"] or "其他", "value": r["n"]} for r in by_service],
        "page_obj": paginate(request, records.select_related("service", "created_by"), per_page=20),
        "form": ServiceRecordForm(station=station)
        if request.user.can_write and not request.user.department_id
        else None,
        "appeals": station.appeals.count(),
    }
    return render(request, "appeals/stations/detail.html", context)


@login_required
@require_POST
def station_record(request, pk):
    _require_writer(request)
    station = _visible(request, pk)
    form = ServiceRecordForm(request.POST, station=station)
    if form.is_valid():
        try:
            actions.record_service(station, actor=request.user, source="staff", **form.cleaned_data)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Service record added."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("appeals:station-detail", pk=station.pk)


@login_required
@require_GET
def station_poster(request, pk):
    """Printable poster: check-in QR code and the appeal intake QR code of the station."""
    station = _visible(request, pk)
    checkin = qr.checkin_url(request, station)
    intake = qr.intake_url(request, station.unit, station)
    if request.GET.get("format") == "svg":
        response = HttpResponse(qr.svg_bytes(checkin), content_type="image/svg+xml")
        response["Content-Disposition"] = f'attachment; filename="station-{station.pk}-checkin.svg"'
        return response
    return render(
        request,
        "appeals/stations/poster.html",
        {
            "station": station,
            "checkin_url": checkin,
            "checkin_qr": qr.svg_data_uri(checkin, scale=8),
            "intake_url": intake,
            "intake_qr": qr.svg_data_uri(intake, scale=5),
        },
    )


@login_required
@require_POST
def station_reset_qr(request, pk):
    _require_writer(request)
    station = _visible(request, pk)
    station.checkin_nonce = new_key()
    station.save(update_fields=["checkin_nonce", "updated_at"])
    record(request.user, "update", station, details={"checkin_qr": "reset"})
    messages.success(request, _("A new check-in QR code was made; the old posters no longer work."))
    return redirect("appeals:station-poster", pk=station.pk)


@login_required
@require_GET
def records_export(request):
    if request.user.department_id:
        raise Http404
    records = ServiceRecord.objects.visible_to(request.user)
    stations = filter_stations(Station.objects.visible_to(request.user), request.GET)
    if any(request.GET.get(k) for k in STATION_FILTER_KEYS):
        records = records.filter(station__in=stations)
    handle = exporting.to_tempfile(exporting.export_records, records, actor=request.user)
    return FileResponse(handle, as_attachment=True, filename=f"服务记录-{timezone.localdate():%Y%m%d}.xlsx")
