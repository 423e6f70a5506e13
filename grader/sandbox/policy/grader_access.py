"""Rule no-grader-access: the sandbox saw no attempt to reach the grader's own code."""
from __future__ import annotations

from .common import sentence

SHOWN = 5  # attempts named in the message; the details list them all


def check(access):
    """(message, details): each distinct attempt the sandbox recorded, once."""
    attempts = []
    for event in access:
        text = "%s %s" % (event.get("event", "access"), event.get("target", "")) + (
            " (%s)" % event["where"] if event.get("where") else "")
        if text.strip() not in attempts:
            attempts.append(text.strip())
    if not attempts:
        return "", []
    return sentence("the submission tried to reach the grader's own code: %s" % "; ".join(attempts[:SHOWN])
                    + ("; and %d more" % (len(attempts) - SHOWN) if len(attempts) > SHOWN else "")), attempts
