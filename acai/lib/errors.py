"""The toolkit's errors whose message is the one line a user needs."""


class RunError(Exception):
    """A run cannot start or go on; the message is one line saying why."""


class Interrupted(RunError):
    """Training stopped on a signal after writing a checkpoint; the same command resumes.

    `signum` is the signal; the training binaries exit with status 128 + signum.
    """

    def __init__(self, message, signum):
        super().__init__(message)
        self.signum = signum
