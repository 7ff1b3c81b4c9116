"""Public mobile (H5) pages of appeals and stations: no login.

* ``new`` — file an appeal through a unit's (or station's) signed intake link / QR code.
* ``follow`` — the person's own signed link: status, timeline, the reply, the rating.
* ``checkin`` — 服务人次 by scanning a station's QR code.

Protections: signed tokens (tampering → 404), CSRF on every form, rate limits per address and per
phone (429 with Retry-After), a honeypot field, photo checks and re-encoding, consent recorded
with the version of the privacy notice.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from tuanju.appeals import actions, device, ratelimit, tokens
from tuanju.appeals.forms import CheckinForm, IntakeForm, RatingForm
from tuanju.appeals.models import PUBLIC_EVENTS, Source, Status
from tuanju.core.crypto import cipher


def limited(request, decision):
    response = render(request, "appeals/h5/limited.html", {"minutes": decision.retry_minutes}, status=429)
    response["Retry-After"] = str(decision.retry_after)
    return response


def _view_allowed(request):
    decision = ratelimit.hit("h5-view-ip", ratelimit.client_ip(request))
    return None if decision.allowed else limited(request, decision)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def new(request, token):
    if (refused := _view_allowed(request)) is not None:
        return refused
    found = tokens.read_intake_token(token)
    if found is None:
        return render(request, "appeals/h5/invalid.html", status=404)
    unit, station = found
    form = IntakeForm(request.POST or None, request.FILES or None, unit=unit)
    if request.method == "POST":
        decision = ratelimit.hit("appeal-ip", ratelimit.client_ip(request))
        if not decision.allowed:
            return limited(request, decision)
        if form.is_valid():
            data = form.cleaned_data
            if data["phone"]:
                decision = ratelimit.hit("appeal-phone", cipher().blind_index(data["phone"]))
                if not decision.allowed:
                    return limited(request, decision)
            new_appeal = actions.NewAppeal(
                unit=data.get("area") or unit,
                category=data["category"],
                content=data["content"],
                source=Source.STATION if station else Source.H5,
                location=data["location"],
                contact_name=data["contact_name"],
                phone=data["phone"],
                is_anonymous=data["is_anonymous"],
                consent=data["consent"],
                station=station,
            )
            try:
                appeal = actions.file_appeal(new_appeal, actor=None, photos=data["photos"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                return redirect(f"{actions.follow_path(appeal)}?new=1")
    return render(
        request,
        "appeals/h5/new.html",
        {"form": form, "unit": unit, "station": station, "privacy_version": actions.PRIVACY_VERSION},
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def follow(request, token):
    if (refused := _view_allowed(request)) is not None:
        return refused
    appeal = tokens.read_follow_token(token)
    if appeal is None:
        raise Http404
    form = RatingForm(request.POST or None) if appeal.status == Status.REPLIED else None
    if request.method == "POST":
        decision = ratelimit.hit("rate-ip", ratelimit.client_ip(request))
        if not decision.allowed:
            return limited(request, decision)
        if form is None:
            return redirect(request.path)
        if form.is_valid():
            try:
                actions.rate(appeal, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect(f"{request.path}?rated=1")
    events = appeal.events.filter(kind__in=PUBLIC_EVENTS).order_by("at", "id")
    return render(
        request,
        "appeals/h5/follow.html",
        {
            "appeal": appeal,
            "events": events,
            "form": form,
            "just_filed": request.GET.get("new") == "1",
            "just_rated": request.GET.get("rated") == "1",
            "link": request.build_absolute_uri(request.path),
            "photo_count": appeal.photos.count(),
        },
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def checkin(request, token):
    if (refused := _view_allowed(request)) is not None:
        return refused
    station = tokens.read_checkin_token(token)
    if station is None:
        return render(request, "appeals/h5/invalid.html", status=404)
    form = CheckinForm(request.POST or None, station=station)
    dev, is_new = device.device_id(request)
    dev_key = device.key(dev, f"station:{station.pk}")
    done = False
    if request.method == "POST":
        decision = ratelimit.hit("checkin-ip", ratelimit.client_ip(request))
        if not decision.allowed:
            return limited(request, decision)
        if form.is_valid():
            if actions.recent_checkin(station, dev_key):
                done = "again"
            else:
                data = form.cleaned_data
                person = actions.match_person(station.unit, data["phone"]) if data["phone"] else None
                actions.record_service(
                    station, service=data["service"], source="qr", person=person, device_key=dev_key
                )
                done = True
    response = render(
        request,
        "appeals/h5/checkin.html",
        {
            "station": station,
            "form": form,
            "done": done,
            "intake_token": tokens.intake_token(station.unit, station),
        },
    )
    if is_new:
        device.remember(response, dev)
    return response


@require_GET
def privacy(request):
    return render(request, "appeals/h5/privacy.html", {"privacy_version": actions.PRIVACY_VERSION})
