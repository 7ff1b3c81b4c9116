"""The public mobile (H5) pages of activities: no login.

* ``a/<link token>/`` — the activity and its registration form (reached by QR code, link or a
  group message; the token's channel becomes the registration's source).
* ``t/<ticket token>/`` — the participant's confirmation page: status (place, waitlist number,
  leave), their own QR code for the organizer to scan, cancellation before the cut-off, leave.
* ``c/<rotating token>/`` — opened by scanning the activity's rotating check-in code; a phone that
  registered shows a one-tap button, any other gives the phone number used to register.
* ``mine/`` — the registrations made on this phone.

Protected by signed tokens, CSRF on every form, rate limits per IP and per phone number, and the
roster's validation rules.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.core.crypto import cipher

from . import actions, limits, qr, tokens, wallet
from .forms import CheckinPhoneForm, LeaveRequestForm, RegisterForm
from .models import Activity, ActivityStatus, CheckMethod, Registration, RegistrationStatus

INVALID = "activities/h5/invalid.html"


def _invalid(request, message: str, status: int = 404):
    return render(request, INVALID, {"message": message}, status=status)


def _view_limited(request, scope: str = "act-view-ip"):
    decision = limits.hit(scope, limits.client_ip(request))
    return None if decision.allowed else limits.limited(request, decision)


def _activity_for_link(token: str) -> tuple[Activity, str]:
    pk, nonce, channel = tokens.read_link(token)
    activity = (
        Activity.objects.select_related("unit", "community", "organization", "alliance")
        .filter(pk=pk)
        .exclude(status=ActivityStatus.DRAFT)
        .first()
    )
    if activity is None or activity.link_nonce != nonce:
        raise tokens.TokenInvalid
    return activity, channel


def _registration_for(token: str, reader) -> Registration:
    pk, nonce = reader(token)
    reg = (
        Registration.objects.select_related("activity", "activity__unit", "activity__community", "person")
        .filter(pk=pk)
        .first()
    )
    if reg is None or reg.ticket_nonce != nonce:
        raise tokens.TokenInvalid
    return reg


def counts(activity: Activity) -> dict:
    regs = Registration.objects.filter(activity=activity)
    return {
        "confirmed": regs.filter(status=RegistrationStatus.CONFIRMED).count(),
        "waitlisted": regs.filter(status=RegistrationStatus.WAITLISTED).count(),
    }


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def activity_page(request, token):
    if (refused := _view_limited(request)) is not None:
        return refused
    try:
        activity, channel = _activity_for_link(token)
    except tokens.TokenInvalid as exc:
        return _invalid(request, exc.message)
    mine = wallet.for_activity(request, activity)
    form = RegisterForm(request.POST or None, activity=activity)
    refusal = None
    if request.method == "POST":
        ip = limits.client_ip(request)
        decision = limits.hit("act-register-ip", ip)
        if not decision.allowed:
            return limits.limited(request, decision)
        if form.is_valid():
            data = form.cleaned_data
            decision = limits.hit("act-register-phone", cipher().blind_index(data["phone"]))
            if not decision.allowed:
                return limits.limited(request, decision)
            try:
                result = actions.register(
                    activity,
                    name=data["name"],
                    phone=data["phone"],
                    resident_id=data.get("resident_id", ""),
                    answers=form.answers(),
                    source=channel,
                )
            except actions.Refused as exc:
                if exc.field in form.fields:
                    form.add_error(exc.field, exc.message)
                else:
                    refusal = exc
            else:
                response = redirect("h5-activities:ticket", token=tokens.ticket_token(result.registration))
                wallet.remember(request, response, result.registration)
                return response
    context = {
        "activity": activity,
        "form": form,
        "phase": activity.phase(),
        "counts": counts(activity),
        "mine": mine,
        "mine_token": tokens.ticket_token(mine) if mine else "",
        "refusal": refusal,
        "audience": actions.audience_label(activity),
        "limit": actions.absence_limit(activity.community) if activity.community_id else 0,
    }
    return render(request, "activities/h5/activity.html", context, status=403 if refusal else 200)


def _ticket_context(request, reg: Registration) -> dict:
    activity = reg.activity
    now = timezone.now()
    return {
        "reg": reg,
        "activity": activity,
        "person": reg.person,
        "position": actions.waitlist_position(reg),
        "qr_data_uri": qr.svg_data_uri(qr.scan_url(request, reg), scale=6),
        "can_cancel": reg.status in (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)
        and now < activity.cancel_deadline,
        "can_leave": reg.status == RegistrationStatus.CONFIRMED
        and not reg.leave_status
        and now < activity.starts_at,
        "cancel_deadline": activity.cancel_deadline,
        "leave_form": LeaveRequestForm(),
        "token": tokens.ticket_token(reg),
        "started": now >= activity.starts_at,
    }


@never_cache
@require_GET
def ticket(request, token):
    if (refused := _view_limited(request, "act-ticket-ip")) is not None:
        return refused
    try:
        reg = _registration_for(token, tokens.read_ticket)
    except tokens.TokenInvalid:
        return _invalid(request, "报名凭证无效或已失效。")
    response = render(request, "activities/h5/ticket.html", _ticket_context(request, reg))
    wallet.remember(request, response, reg)
    return response


def _ticket_post(request, token, handler):
    decision = limits.hit("act-register-ip", limits.client_ip(request))
    if not decision.allowed:
        return limits.limited(request, decision)
    try:
        reg = _registration_for(token, tokens.read_ticket)
    except tokens.TokenInvalid:
        return _invalid(request, "报名凭证无效或已失效。")
    try:
        message = handler(reg)
    except actions.Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, message)
    return redirect("h5-activities:ticket", token=token)


@never_cache
@csrf_protect
@require_POST
def ticket_cancel(request, token):
    def cancel(reg):
        actions.cancel_registration(reg, by_participant=True, reason="本人在线取消")
        return "已取消报名。"

    return _ticket_post(request, token, cancel)


@never_cache
@csrf_protect
@require_POST
def ticket_leave(request, token):
    form = LeaveRequestForm(request.POST)

    def leave(reg):
        if not form.is_valid():
            raise actions.Refused(form.errors["reason"][0])
        actions.request_leave(reg, reason=form.cleaned_data["reason"])
        return "请假申请已提交，等待组织方审批。"

    return _ticket_post(request, token, leave)


@never_cache
@require_GET
def mine(request):
    if (refused := _view_limited(request, "act-ticket-ip")) is not None:
        return refused
    regs = sorted(wallet.registrations(request), key=lambda r: r.activity.starts_at, reverse=True)
    items = [(reg, tokens.ticket_token(reg)) for reg in regs]
    return render(request, "activities/h5/mine.html", {"items": items})


# --- Self check-in ------------------------------------------------------------------------------


@never_cache
@require_GET
def checkin(request, token):
    """Opened by scanning the rotating code: a fresh code gives a form good for a few minutes."""
    if (refused := _view_limited(request, "act-checkin-ip")) is not None:
        return refused
    try:
        code = tokens.read_checkin(token)
    except tokens.TokenInvalid as exc:
        return _invalid(request, exc.message, status=410 if isinstance(exc, tokens.TokenExpired) else 404)
    activity = Activity.objects.select_related("unit").filter(pk=code.activity_id).first()
    if activity is None or activity.checkin_nonce != code.nonce:
        return _invalid(request, tokens.TokenInvalid.message)
    mine = wallet.for_activity(request, activity)
    form = CheckinPhoneForm(initial={"form_token": tokens.form_token(activity.pk, code.kind, code.nonce)})
    return render(
        request,
        "activities/h5/checkin.html",
        {"activity": activity, "kind": code.kind, "form": form, "mine": mine},
    )


@never_cache
@csrf_protect
@require_POST
def checkin_submit(request):
    ip = limits.client_ip(request)
    decision = limits.hit("act-checkin-ip", ip)
    if not decision.allowed:
        return limits.limited(request, decision)
    form = CheckinPhoneForm(request.POST)
    if not form.is_valid():
        return _invalid(request, "签到信息不完整，请重新扫描现场签到码。", status=400)
    try:
        code = tokens.read_form(form.cleaned_data["form_token"])
    except tokens.TokenInvalid as exc:
        message = (
            "签到页面已超时，请重新扫描现场签到码。" if isinstance(exc, tokens.TokenExpired) else exc.message
        )
        return _invalid(request, message, status=410)
    activity = Activity.objects.select_related("unit", "community").filter(pk=code.activity_id).first()
    if activity is None or activity.checkin_nonce != code.nonce:
        return _invalid(request, tokens.TokenInvalid.message)
    context = {"activity": activity, "kind": code.kind, "form": form, "mine": None}
    try:
        reg = None
        ticket_id = form.cleaned_data.get("ticket")
        if ticket_id:
            reg = next(
                (r for r in wallet.registrations(request, activity=activity) if r.pk == ticket_id), None
            )
        if reg is None:
            phone = form.cleaned_data.get("phone") or ""
            if phone:
                decision = limits.hit("act-checkin-phone", cipher().blind_index(phone.strip()))
                if not decision.allowed:
                    return limits.limited(request, decision)
            reg = actions.find_by_phone(activity, phone, form.cleaned_data.get("name") or "")
        reg.activity = activity
        result = actions.check_in(reg, kind=code.kind, method=CheckMethod.SELF_QR)
    except actions.Refused as exc:
        context["error"] = exc.message
        context["mine"] = wallet.for_activity(request, activity)
        return render(request, "activities/h5/checkin.html", context, status=409)
    response = render(
        request,
        "activities/h5/checked.html",
        {
            "activity": activity,
            "result": result,
            "reg": result.registration,
            "kind": code.kind,
            "token": tokens.ticket_token(result.registration),
        },
    )
    wallet.remember(request, response, result.registration)
    return response
