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


# Causes worth naming alone, out of a long TensorFlow message.
KNOWN_CAUSES = ("No space left on device", "Disk quota exceeded", "Read-only file system",
                "Permission denied")


def cause(error):
    """The cause of an error in a few words for a one-line message: 'No space left on
    device' out of TensorFlow's many lines, or the error's first line."""
    text = str(error).strip()
    for known in KNOWN_CAUSES:
        if known in text:
            return known
    return text.splitlines()[0][:300] if text else type(error).__name__
