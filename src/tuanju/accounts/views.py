from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.db.models.functions import Lower
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
        # Lower() rather than __icontains, which SQLite's case_sensitive_like makes case-sensitive.
        lowered = term.lower()
        staff = staff.alias(username_lower=Lower("username"), first_name_lower=Lower("first_name")).filter(
            Q(username_lower__contains=lowered) | Q(first_name_lower__contains=lowered)
        )
    role = request.GET.get("role", "")
    if role in Role.values:
        staff = staff.filter(role=role)
    return render(
        request,
        "accounts/staff_list.html",
        {"page_obj": paginate(request, staff), "q": term, "role": role, "roles": Role.choices},
    )
