from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@login_required
def home(request):
    if request.user.unit_id:
        return redirect("hierarchy:detail", pk=request.user.unit_id)
    return redirect("hierarchy:tree")


@never_cache
@require_GET
def healthz(request):
    """For load balancers: the process answers and its database does too."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # a health check reports every failure, whatever its type
        return JsonResponse({"status": "error", "database": str(exc)[:200]}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


def paginate(request, queryset, per_page: int = 50):
    """A page of ``queryset`` from ``?page=`` (bad or out-of-range numbers fall back safely)."""
    paginator = Paginator(queryset, per_page)
    return paginator.get_page(request.GET.get("page"))
