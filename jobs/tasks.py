"""django-q2 entry points (thin): each call is one bounded invocation."""


def run_job(job_id: int) -> str:
    from jobs.engine.runner import run_job as run

    return run(job_id)


def reap_expired_jobs() -> list[int]:
    from jobs.engine.reaper import reap

    return reap()
