"""How a layer item is judged, the same way by the grader and the student kit (pure Python,
so the kit carries it): a backward whose forward failed its own item is first judged against
the numeric gradient of the student's own forward, then, if that fails, with the cache of
the grader's forward."""
from __future__ import annotations


def judge_layer(verdict, run, forward, backward, failed, patch, dependencies):
    """Fill ``verdict``: ``run(verdict, patch, mode)`` runs the item's cases in ``mode`` ("normal",
    "own-forward" or "grader-forward") with the grader's versions of ``patch`` in place;
    ``failed`` holds the functions that failed their items; ``dependencies()`` what the grader's
    forward stands in with."""
    if patch:
        verdict.notes.append("graded with the grader's %s in place of yours (they failed their own items)"
                             % ", ".join(sorted(set(patch))))
    if not (backward and forward in failed):
        run(verdict, patch, "normal")
        return
    own = type(verdict)()
    run(own, patch, "own-forward")
    if own.status == "passed" and all(c.passed for c in own.checks):
        own.notes = verdict.notes + ["your %s failed its item; your %s was judged against the numeric "
                                     "gradient of your own forward" % (forward, backward)]
        verdict.__dict__.update(own.__dict__)
        return
    grader = type(verdict)()
    run(grader, dependencies(), "grader-forward")
    chosen = grader if grader.status in ("passed", "failed") else own
    chosen.notes = verdict.notes + ["your %s failed its item, so your %s was also tried with the cache "
                                    "of the grader's %s" % (forward, backward, forward)]
    verdict.__dict__.update(chosen.__dict__)
