"""django-q2 entry points (thin): a scheduled catalog sync of every update server."""


def sync_update_servers() -> list[int]:
    """Queue a catalog sync job per update server (an active one is reused). Returns the job ids."""
    from compliance.models import UpdateServer
    from compliance.orchestration import submit_sync

    return [submit_sync(server)[0].pk for server in UpdateServer.objects.all()]
