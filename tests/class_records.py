"""Synthetic batch records in the real results.json shape (built by grader.results) for class-level tests."""
import numpy as np

from grader import assignments
from grader.results import score
from grader.results.schema import Results
from grader.sandbox import policy as course_rules
from grader.check.compare import compare
from grader.check.judge import Verdict

SETTINGS = assignments.load("rnn")
AUTOMATIC = [i for i in SETTINGS.items if i.kind != "manual"]
MANUAL = [i for i in SETTINGS.items if i.kind == "manual"]
PROBLEMS = {
    "error": "forward raised ValueError: shapes ({a},4) and (5,{b}) not aligned\nTraceback ...",
    "timeout": "the call did not finish within {a}.{b}s",
    "missing": "rnn_forward is not defined (looked in the notebook and in cs231n/)",
    "not_implemented": "rnn_forward returned None (the template is untouched)",
}


def checks(status, seed):
    """A public check that passes and a hidden one that fails, with seed-dependent numbers, when ``status`` is failed."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 4))
    wrong = x * 2 if status == "failed" else x
    return [compare("public: notebook inputs", x, x, metric="rel_error", threshold=1e-8, visibility="public",
                    label="h"),
            compare("hidden: N=1", wrong, x, metric="norm_error", threshold=1e-9, label="h",
                    hint="add the bias")]


def record(sid, statuses=None, *, name=None, late=False, elapsed=3.0, policy=(), flagged=None, answer="My answer.",
           seed=0):
    """A graded student's record: every automatic item passes unless ``statuses`` says otherwise."""
    statuses, flagged = statuses or {}, flagged or {}
    items = []
    for k, item in enumerate(AUTOMATIC):
        status = statuses.get(item.name, "passed")
        verdict = Verdict(status=status, checks=[] if status in PROBLEMS else checks(status, seed + k),
                          problem=PROBLEMS.get(status, "").format(a=seed + 2, b=seed + 7))
        items.append(score.item_result(item, SETTINGS, verdict, flags=flagged.get(item.name, ())))
    manual = [{"name": m.name, "answer": answer, "max_score": SETTINGS.points(m.name), "score": None}
              for m in MANUAL]
    final, deducted = course_rules.apply(sum(i.score for i in items), list(policy))
    result = Results(sid, SETTINGS.name, final, deducted, items, list(policy), manual, execution={},
                     public_only=False, skipped=[], seed=1234, elapsed_s=elapsed).to_json()
    result["student"] = {"id": sid, "name": name if name is not None else sid.title(), "user_id": None,
                         "late": late, "source": "plain"}
    return result


def failure(sid, message="notebook is not valid JSON: line 3", late=False):
    return {"student": {"id": sid, "name": sid.title(), "user_id": None, "late": late, "source": "plain"},
            "error": message}


def rule(name, action="warn", deduction=0.0, message="imports scipy.stats (cell 3)", passed=False):
    """A results.json ``policy`` entry; a rule that passed has no message and takes nothing off."""
    return {"rule": name, "passed": passed, "message": "" if passed else message, "action": action,
            "deduction": 0.0 if passed else deduction, "details": []}
