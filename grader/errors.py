"""Errors the user can act on, and the wording of messages shown to them."""


class UsageError(Exception):
    """Bad input from the user: shown as one line on stderr, exit status 2."""


class GraderError(Exception):
    """The grader itself failed on a submission: exit status 1, the batch goes on."""
