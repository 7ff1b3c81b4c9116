"""The public mobile (H5) pages of a directive: no login.

* ``/h5/d/<token>/`` — a person's own link (text message, inbox, forwarded by a liaison): opens
  the directive, records that it was opened, and offers 收到 and, when volunteers are recruited,
  报名. A liaison also sees the groups they are to forward it to, with the text to copy.
* ``/h5/d/<token>/ack/`` — POST: acknowledge. Answers JSON to ``Accept: application/json``
  (apps, the benchmark), else redirects back to the page. No CSRF token: the signed link is the
  only authority, there is no session to ride on.
* ``/h5/d/g/<token>/`` — a group's link (posted by the robot or relayed by the liaison): opening
  it marks the group reached; whoever is in the group confirms with their registered phone.

Rate limits (``ACK_LIMITS``): per IP (generous: one carrier NAT address serves many phones) and
per link or phone (strict).
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tuanju.core.crypto import cipher
from tuanju.groups import ratelimit

from . import actions, conf, delivery, links
from .forms import GroupAckForm
from .models import LIVE_STATUSES, GroupDelivery, Receipt
from .tokens import read_group_token, read_receipt_token


def _limit(scope: str, key: str):
    return ratelimit.hit(f"mob-{scope}", key, ratelimit.Limit.parse(conf.get("ACK_LIMITS")[scope]))


def _wants_json(request) -> bool:
    return "application/json" in request.META.get("HTTP_ACCEPT", "")


def _refuse(request, message: str, status: int, retry_after: int | None = None):
    if _wants_json(request):
        response = JsonResponse({"ok": False, "error": message}, status=status)
    else:
        response = render(
            request, "mobilize/h5/message.html", {"message": message, "error": True}, status=status
        )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _limited(request, decision):
    return _refuse(
        request, f"操作太频繁，请 {decision.retry_minutes} 分钟后再试。", 429, decision.retry_after
    )


def _receipt(token: str) -> Receipt | None:
    receipt_id = read_receipt_token(token)
    if receipt_id is None:
        return None
    return Receipt.objects.select_related("directive__unit", "person", "group").filter(pk=receipt_id).first()


@never_cache
@require_GET
def receipt_page(request, token):
    decision = _limit("ip", ratelimit.client_ip(request))
    if not decision.allowed:
        return _limited(request, decision)
    receipt = _receipt(token)
    if receipt is None:
        return _refuse(request, "链接无效。请使用短信或群里收到的完整链接。", 404)
    directive = receipt.directive
    if receipt.opened_at is None and directive.status in LIVE_STATUSES:
        actions.mark_opened(receipt.pk)
    relay = []
    if receipt.is_liaison:
        for d in delivery.groups_to_relay(directive, person=receipt.person):
            d.link = links.group_link(d.pk)
            relay.append(d)
    context = {
        "receipt": receipt,
        "directive": directive,
        "token": token,
        "live": directive.status in LIVE_STATUSES,
        "relay": relay,
        "relay_text": f"【{directive.urgency_label}指令】{directive.title}\n{directive.body[:300]}\n请点击链接确认收到：",
        "just": request.GET.get("done", ""),
    }
    return render(request, "mobilize/h5/receipt.html", context)


@never_cache
@csrf_exempt
@require_POST
def receipt_ack(request, token):
    decision = _limit("ip", ratelimit.client_ip(request))
    if not decision.allowed:
        return _limited(request, decision)
    receipt_id = read_receipt_token(token)
    if receipt_id is None:
        return _refuse(request, "链接无效", 404)
    decision = _limit("link", token)
    if not decision.allowed:
        return _limited(request, decision)
    try:
        result = actions.acknowledge(receipt_id, via="link")
    except actions.AckRefused as exc:
        return _refuse(request, exc.message, exc.status)
    if _wants_json(request):
        return JsonResponse({"ok": True, "acknowledged": True, "first": result.created})
    return redirect(f"{links.receipt_path(receipt_id)}?done=ack")


@never_cache
@csrf_exempt
@require_POST
def receipt_signup(request, token):
    decision = _limit("ip", ratelimit.client_ip(request))
    if not decision.allowed:
        return _limited(request, decision)
    receipt = _receipt(token)
    if receipt is None:
        return _refuse(request, "链接无效", 404)
    decision = _limit("link", token)
    if not decision.allowed:
        return _limited(request, decision)
    cancel = request.POST.get("cancel") == "1"
    try:
        receipt = actions.cancel_sign_up(receipt) if cancel else actions.sign_up(receipt)
    except actions.AckRefused as exc:
        return _refuse(request, exc.message, exc.status)
    if _wants_json(request):
        return JsonResponse({"ok": True, "signed_up": receipt.signed_up_at is not None})
    return redirect(f"{links.receipt_path(receipt.pk)}?done={'unsigned' if cancel else 'signup'}")


def _group(token: str) -> GroupDelivery | None:
    delivery_id = read_group_token(token)
    if delivery_id is None:
        return None
    return (
        GroupDelivery.objects.select_related("directive__unit", "group", "unit")
        .filter(pk=delivery_id)
        .first()
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def group_page(request, token):
    ip = ratelimit.client_ip(request)
    decision = _limit("ip", ip)
    if not decision.allowed:
        return _limited(request, decision)
    gd = _group(token)
    if gd is None:
        return _refuse(request, "链接无效。请使用群里收到的完整链接。", 404)
    directive = gd.directive
    live = directive.status in LIVE_STATUSES
    if request.method == "GET" and live:
        delivery.relay_opened(gd.pk)
    form = GroupAckForm(request.POST or None)
    done = None
    if request.method == "POST":
        if not live:
            return _refuse(request, "该指令已结束，无需再确认", 410)
        if form.is_valid():
            phone = form.cleaned_data["phone"]
            decision = _limit("phone", cipher().blind_index(phone))
            if not decision.allowed:
                return _limited(request, decision)
            try:
                receipt = actions.find_in_group(gd, phone)
                result = actions.acknowledge(receipt.pk, via="group")
            except actions.AckRefused as exc:
                form.add_error("phone", exc.message)
            except ObjectDoesNotExist:
                form.add_error("phone", "本群名单中没有这个手机号")
            else:
                done = {"first": result.created, "receipt": receipt, "link": links.receipt_path(receipt.pk)}
    context = {"gd": gd, "directive": directive, "form": form, "live": live, "done": done}
    return render(request, "mobilize/h5/group.html", context)
