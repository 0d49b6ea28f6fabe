"""What a locked-out sign-in sees (django-axes calls `locked_out` instead of checking the password)."""
import math

from django.conf import settings
from django.template.response import TemplateResponse
from django.utils import timezone


def locked_out(request, original_response=None, credentials=None):
    cool_off = settings.AXES_COOLOFF_TIME
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        "username": str(username)[:150],
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "retry_at": timezone.now() + cool_off,
        "minutes": math.ceil(cool_off.total_seconds() / 60),
    }
    return TemplateResponse(request, "registration/locked_out.html", context, status=429).render()
