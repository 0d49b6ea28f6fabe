"""`Authorization: Bearer ferry_…`: a personal API token (api.models.ApiToken)."""
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from api.models import ApiToken

# last_used is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be “Bearer <token>”.")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        row = ApiToken.find(token)
        if row is None or not row.user.is_active:
            raise exceptions.AuthenticationFailed("The token is not valid or was revoked.")
        now = timezone.now()
        if row.last_used is None or now - row.last_used >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=row.pk).update(last_used=now)
        return row.user, row

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
