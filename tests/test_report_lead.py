"""report.html leads with the point: per failing item a sentence, the smallest failing case, its
worst element, the hint and a picture; every check folded by output; passing items one line."""
import json

import numpy as np

from grader.check import cases as C
from grader.check.compare import CheckResult, compare
from grader.check.sampling import check_sample
from grader.results.report import by_output, check_line, failure, lead, point, render_html, split_name
from grader.results.schema import ItemResult, Results

OUTPUTS = ("dx", "db")
# case name -> the shape of each output in it
SHAPES = {"public: notebook gradient check": (2, 3, 10), "hidden: random shapes": (4, 5), "hidden: N=1": (1, 4),
          "hidden: T=1": (3, 2)}


def layer_checks(wrong, shapes=SHAPES, outputs=OUTPUTS):
    """Real comparisons named as the layer kind names them; the outputs of the ``wrong`` cases are doubled."""
    rng = np.random.default_rng(0)
    found = []
    for case, shape in shapes.items():
        for label in outputs:
            x = rng.standard_normal(shape)
            found.append(compare("%s: %s vs reference" % (case, label), x * 2 if case in wrong else x, x,
                                 metric="norm_error", threshold=1e-9, label=label,
                                 visibility=case.split(":")[0], hint="add dh[:, t] at each step"))
    return found


def as_json(item):
    return json.loads(json.dumps(item.to_json()))


def results(*items):
    return Results("amy", "rnn", sum(i.score for i in items), 0.0, list(items), [], [],
                   {"cells": [], "errors": 0, "kernel_restarts": 0}, False, [], 7, 1.0).to_json()


def test_a_check_name_splits_into_case_output_and_what_it_is_compared_with():
    assert split_name("public: notebook gradient check: dx vs numeric gradient of your forward") == (
        "public: notebook gradient check", "dx", "numeric gradient of your forward")
    assert split_name("hidden: N=1: grads['W_embed'] vs reference") == ("hidden: N=1", "grads['W_embed']", "reference")
    assert split_name("public: notebook loss (9.83235591003): loss vs reference") == (
        "public: notebook loss (9.83235591003)", "loss", "reference")
    assert split_name("hidden: overfit 50 examples") == ("hidden", "overfit 50 examples", "")
    assert split_name("gradients") == ("", "gradients", "")


def test_a_failure_gives_its_worst_element_array_scalar_or_caption():
    array = failure(compare("hidden: N=1: dx vs reference", np.array([[1.0, 2.0, 5.0]]), np.array([[1.0, 2.0, 3.0]]),
                            metric="norm_error", threshold=1e-9, label="dx").to_json())
    assert (array["case"], array["output"], array["against"]) == ("hidden: N=1", "dx", "reference")
    assert (array["differ"], array["size"], array["at"], array["got"], array["expected"]) == (
        "1", 3, "[0, 2]", "5", "3")
    scalar = failure(compare("public: notebook loss (2.3): loss vs reference", np.float64(2.5), np.float64(2.3),
                             metric="rel_error", threshold=1e-10, label="loss").to_json())
    assert (scalar["got"], scalar["expected"], scalar["size"]) == ("2.5", "2.3", None)
    case = C.sample_cases(np.random.default_rng(1), public=True)[0]
    start = case.extra["init"]["word_to_idx"]["<START>"]
    sample = failure(check_sample(case, np.full((10, 30), start)).to_json())
    assert sample["size"] == 10 and sample["at"] == "row 0, step 0"
    assert sample["got"] == "'<START>' (id %d)" % start and "(id " in sample["expected"]
    ladder = failure(compare("hidden: N=1: dx vs reference", None, np.zeros(3), metric="norm_error",
                             threshold=1e-9, label="dx").to_json())
    assert ladder["size"] is None and "got" not in ladder


def test_the_lead_is_the_smallest_failing_case_and_the_notebooks_on_a_tie():
    item = as_json(ItemResult("rnn_backward", 10, "failed", layer_checks(set(SHAPES))))
    assert lead(item)["case"] == "hidden: N=1" and lead(item)["output"] == "dx"
    tie = {"public: notebook gradient check": (2, 2), "hidden: N=1": (1, 4)}
    item = as_json(ItemResult("rnn_backward", 10, "failed", layer_checks(set(tie), tie)))
    assert lead(item)["case"] == "public: notebook gradient check"
    assert lead(as_json(ItemResult("rnn_backward", 10, "passed", layer_checks(set())))) is None


def test_the_point_names_the_wrong_outputs_and_where_they_are_wrong():
    def said(wrong, outputs=OUTPUTS, shapes=SHAPES):
        checks = layer_checks(wrong, shapes, outputs)
        return point(as_json(ItemResult("rnn_backward", 10, "failed" if wrong else "passed", checks)))
    assert said(set(SHAPES)) == ("Your dx and db are wrong in all 4 cases tried; the notebook's own check "
                                 "fails too.")
    assert said(set(SHAPES) - {"hidden: T=1"}) == (
        "Your dx and db are wrong in 3 of 4 cases (right in hidden: T=1); the notebook's own check fails too.")
    assert said({"hidden: N=1"}, ("dW",)) == (
        "Your dW is wrong in 1 of 4 cases; the notebook's own check passes, only new inputs show it.")
    assert said({"hidden: N=1"}, ("dW",), {"hidden: N=1": (1, 3)}) == "Your dW is wrong in the one case tried."
    assert said(set()) == ""


def test_the_point_of_an_error_training_or_sampling_failure():
    error = ItemResult("rnn_forward", 5, "error", [], "rnn_forward raised ValueError: shapes (3,4) and (5,7)\n"
                                                      "Traceback (most recent call last): ...")
    assert point(as_json(error)) == "rnn_forward raised ValueError: shapes (3,4) and (5,7)."
    assert point(as_json(ItemResult("rnn_forward", 5, "timeout", [], "x" * 400))) == "x" * 297 + "..."
    training = CheckResult("hidden: overfit 50 examples", "training", "hidden", "final loss", 2.5, 0.1, False,
                           "final training loss 2.5 is not below 0.1 after 100 iterations")
    assert point(as_json(ItemResult("overfit_small_data", 10, "failed", [training]))) == (
        "final training loss 2.5 is not below 0.1 after 100 iterations.")
    cases = C.sample_cases(np.random.default_rng(1), public=False)
    checks = [check_sample(c, np.full((c.args[0].shape[0], c.extra["max_length"] or 30),
                                      c.extra["init"]["word_to_idx"]["<START>"])) for c in cases]
    assert point(as_json(ItemResult("CaptioningRNN.sample", 10, "failed", checks))) == (
        "Your captions differ from greedy decoding in all 4 cases tried; the notebook's own check fails too.")


def test_checks_group_by_output_and_each_says_what_it_found_in_one_line():
    item = as_json(ItemResult("rnn_backward", 10, "failed", layer_checks({"hidden: N=1"})))
    groups = by_output(item["checks"])
    assert [(g["output"], len(g["checks"]), g["failed"]) for g in groups] == [("dx", 4, 1), ("db", 4, 1)]
    wrong = next(c for c in groups[0]["checks"] if not c["passed"])
    assert wrong["case"] == "hidden: N=1" and wrong["against"] == "reference"
    assert check_line(wrong).startswith("norm_error 0.333 > 1e-09; 4/4 elements differ; worst at ")
    right = groups[0]["checks"][0]
    assert check_line(right) == "norm_error 0 ≤ 1e-09"


def test_the_page_leads_each_failing_item_with_its_point_and_folds_the_rest():
    backward = ItemResult("rnn_backward", 10, "failed", layer_checks(set(SHAPES) - {"hidden: T=1"}))
    forward = ItemResult("rnn_forward", 5, "passed", layer_checks(set(), outputs=("h",)))
    data = results(forward, backward)
    before = json.dumps(data, sort_keys=True)
    html = render_html(data)
    assert json.dumps(data, sort_keys=True) == before, "rendering changed the results"
    assert '<details class="item" id="rnn_forward"><summary>' in html and "4 checks passed" in html
    section = html[html.index('<section class="item failing" id="rnn_backward"'):html.index("</section>")]
    order = [section.index(text) for text in (
        "Your dx and db are wrong in 3 of 4 cases", "smallest failing case</th><td>hidden: N=1: dx vs reference "
        "(4 elements)", "worst element", "Hint:</b> add dh[:, t] at each step", "<svg", "<b>dx</b>: 3 of 4 failed",
        "<b>db</b>: 3 of 4 failed")]
    assert order == sorted(order)
    assert section.count("<details") == 2 and "<details open" not in html
    assert '1 item to fix:\n<a href="#rnn_backward">rnn_backward</a>' in html


def test_every_item_passing_says_so_and_hostile_text_stays_text():
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    forward = ItemResult("rnn_forward", 5, "passed", layer_checks(set(), outputs=("h",)), output=hostile)
    html = render_html(results(forward))
    assert "Every item passed." in html and "to fix" not in html
    error = ItemResult("rnn_backward", 10, "error", [], "rnn_backward raised ValueError: %s\n%s" % (hostile, hostile))
    html = render_html(results(forward, error))
    assert "<script" not in html and "<img" not in html and html.count("&lt;script&gt;alert(1)") == 4
