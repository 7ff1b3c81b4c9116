from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from tuanju.accounts.models import Role, User
from tuanju.core.views import paginate


@login_required
def staff_list(request):
    if not request.user.can_manage_units:
        raise PermissionDenied
    staff = User.objects.visible_to(request.user).select_related("unit").order_by("unit__path", "username")
    term = request.GET.get("q", "").strip()[:50]
    if term:
        staff = staff.filter(username__icontains=term) | staff.filter(first_name__icontains=term)
    role = request.GET.get("role", "")
    if role in Role.values:
        staff = staff.filter(role=role)
    return render(
        request,
        "accounts/staff_list.html",
        {"page_obj": paginate(request, staff), "q": term, "role": role, "roles": Role.choices},
    )
