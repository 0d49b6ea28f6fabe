"""Steps of the notification tests' jobs: one that succeeds, one that fails, a precheck that refuses."""
from jobs.engine import StepFailed, StepResult, register_step


@register_step("tests.notifications.works")
def works(ctx):
    return StepResult("done")


@register_step("tests.notifications.breaks", retries=0)
def breaks(ctx):
    raise StepFailed("The node did not come back after its restart.", retry=False)


@register_step("tests.notifications.precheck", retries=0)
def refuses(ctx):
    raise StepFailed("Refused before anything moved: Quorum would be lost while N1 is out.", retry=False)
