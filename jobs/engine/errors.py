"""What a step (or the engine) raises. Fencing signals derive from BaseException on purpose: a step
that catches `Exception` around a machine call must not swallow "you lost the job"."""


class StepFailed(Exception):
    """The step cannot go on and says why in words an operator can act on."""

    def __init__(self, message: str, *, retry: bool = True, node_state: str = ""):
        super().__init__(message)
        self.message = message
        self.retry = retry  # False: retrying cannot help (bad input, refused by policy)
        self.node_state = node_state  # what the node is left in, when the step knows it best


class WaitTimedOut(StepFailed):
    """A wait passed its deadline."""


class LeaseLost(BaseException):
    """Another worker owns the job now (or the job was reset): stop before touching anything."""


class CancelRequested(BaseException):
    """An operator cancelled the job and the step reached a safe point."""


class Suspended(BaseException):
    """The task invocation used its time slice while waiting; a fresh task runs the step again."""


class UnknownStep(LookupError):
    pass
