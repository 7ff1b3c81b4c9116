"""The public mobile (H5) join flow: a young person opens a QR code or an invite link on a phone,
reads the charter, gives name and phone (and resident ID where required) and joins.

No login. Protected by: the signed, expiring, revocable token in the URL; CSRF on the form;
rate limits per IP (views and submissions) and per phone number (submissions); and the same
validation as the roster import.
"""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from tuanju.core.crypto import cipher

from . import actions, ratelimit
from .forms import JoinForm
from .models import Community, CommunityMember, MemberStatus
from .tokens import InviteExpired, InviteInvalid, make_receipt, read_invite, read_receipt


def limited(request, decision, *, template="groups/h5/limited.html"):
    response = render(request, template, {"minutes": decision.retry_minutes}, status=429)
    response["Retry-After"] = str(decision.retry_after)
    return response


def community_for_token(token: str) -> tuple[Community, str]:
    """The community an invite token opens and its channel; InviteInvalid when revoked or unknown."""
    invite = read_invite(token)
    community = Community.objects.select_related("category", "unit").filter(pk=invite.community_id).first()
    if community is None or community.invite_nonce != invite.nonce:
        raise InviteInvalid
    return community, invite.channel


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def join(request, token):
    ip = ratelimit.client_ip(request)
    decision = ratelimit.hit("h5-view-ip", ip)
    if not decision.allowed:
        return limited(request, decision)
    try:
        community, channel = community_for_token(token)
    except InviteInvalid as exc:
        status = 410 if isinstance(exc, InviteExpired) else 404
        return render(request, "groups/h5/invalid.html", {"message": exc.message}, status=status)
    form = JoinForm(request.POST or None, community=community)
    if request.method == "POST":
        decision = ratelimit.hit("join-ip", ip)
        if not decision.allowed:
            return limited(request, decision)
        if form.is_valid():
            data = form.cleaned_data
            decision = ratelimit.hit("join-phone", cipher().blind_index(data["phone"]))
            if not decision.allowed:
                return limited(request, decision)
            try:
                result = actions.join_community(
                    community,
                    name=data["name"],
                    phone=data["phone"],
                    resident_id=data.get("resident_id", ""),
                    accepted_charter=data["accept"],
                    charter_version=data.get("charter_version"),
                    source=channel,
                )
            except actions.JoinRefused as exc:
                if data.get("charter_version") != community.charter_version:
                    # The charter changed while the page was open: show the new one, keep the answers.
                    fresh = request.POST.copy()
                    fresh["charter_version"] = str(community.charter_version)
                    fresh.pop("accept", None)
                    form = JoinForm(fresh, community=community)
                    form.is_valid()
                    form.errors.pop("accept", None)
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                return redirect("h5:joined", receipt=make_receipt(result.member))
    context = {
        "community": community,
        "form": form,
        "member_count": CommunityMember.objects.filter(
            community=community, status=MemberStatus.ACTIVE
        ).count(),
    }
    return render(request, "groups/h5/join.html", context)


@never_cache
@require_GET
def joined(request, receipt):
    decision = ratelimit.hit("h5-view-ip", ratelimit.client_ip(request))
    if not decision.allowed:
        return limited(request, decision)
    member_id = read_receipt(receipt)
    member = (
        CommunityMember.objects.select_related("community", "person").filter(pk=member_id).first()
        if member_id
        else None
    )
    if member is None:
        return render(request, "groups/h5/invalid.html", {"message": "页面已过期。"}, status=404)
    return render(request, "groups/h5/joined.html", {"member": member, "community": member.community})
