"""report.html and summary.html in a real browser: Debian's Chromium, headless, driven by Playwright.

Pages: the demo's report, a full-marks report, a hostile one (a notebook that prints and raises
HTML) and a class's summary.html. Each must show its score and every item, open folded checks on
a click, draw its SVGs, log no console error, run no script of the student, request nothing beyond
its own file, and fit a 375 px phone. Screenshots land in reports/screenshots/ (not committed).
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import e2e
import notebooks
from class_records import failure, record
from grader.classroom.summary import write_summary
from grader.results.report import inputs_line, lead, point, write_reports

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[test]')")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]  # one worker: one browser, pages graded once

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Without the background-networking flags Chromium phones home at start, which a closed network refuses.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[1] / "reports" / "screenshots"
DESKTOP = {"viewport": {"width": 1000, "height": 900}}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
HOSTILE = ("<script>window.pwned = 1; console.error('pwned')</script>"
           "<img src=x onerror=\"window.pwned = 2; alert(2)\"><b id=injected>bold</b>")


class Visit:
    """A page opened from a file, with what it did that it must not: requests that leave the
    file (aborted), console errors, uncaught exceptions, dialogs."""

    def __init__(self, context, path):
        self.requests, self.console, self.exceptions, self.dialogs = [], [], [], []
        context.route("**/*", self._route)
        self.page = context.new_page()
        self.page.on("request", lambda r: None if r.url.startswith("file://") else self.requests.append(r.url))
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.exceptions.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(Path(path).as_uri())
        self.page.wait_for_load_state("load")

    @staticmethod
    def _route(route):
        """Let the file load; abort anything else (the "request" event has recorded it)."""
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    def trouble(self):
        return {"requests": self.requests, "console errors": self.console, "exceptions": self.exceptions,
                "dialogs": self.dialogs}

    def assert_clean(self):
        assert not any(self.trouble().values()), self.trouble()

    def screenshot(self, name, full_page=True):
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / name), full_page=full_page)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def visit(browser):
    """``visit(path, **context options)``: the page opened in a fresh context, closed after the test."""
    contexts = []

    def open_page(path, **options):
        contexts.append(browser.new_context(**(options or DESKTOP)))
        return Visit(contexts[-1], path)
    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo graded as a TA does it: ``grade --demo``; (results, report.html)."""
    out = tmp_path_factory.mktemp("demo")
    run = subprocess.run([sys.executable, "-m", "grader", "--demo", "--out", str(out)], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads((out / "demo" / "results.json").read_text()), out / "demo" / "report.html"


def _graded(tmp_path_factory, name, **build):
    """A submission built from the template, graded with tests/fast.toml; (results, report.html)."""
    folder = tmp_path_factory.mktemp(name)
    results = e2e.grade_fast(e2e.build(folder, **build))
    results["submission"] = name
    return results, write_reports(results, folder / "out") / "report.html"


@pytest.fixture(scope="module")
def full_marks(tmp_path_factory):
    return _graded(tmp_path_factory, "full_marks")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """rnn_step_forward prints HTML while graded, word_embedding_forward raises it, a cell raises it."""
    forward = notebooks.reference_sources(["rnn_step_forward"])["rnn_step_forward"]
    forward = forward.replace(":\n", ":\n    print(%r)\n" % HOSTILE, 1)
    raising = "def word_embedding_forward(x, W):\n    raise ValueError(%r)\n" % HOSTILE
    cell = "print(%r)\nraise RuntimeError(%r)\n" % (HOSTILE, HOSTILE)
    return _graded(tmp_path_factory, "hostile", replace={"rnn_step_forward": forward,
                                                         "word_embedding_forward": raising},
                   extra_cells=[("end", cell)])


@pytest.fixture(scope="module")
def summary(demo, full_marks, tmp_path_factory):
    """A class's summary.html: the demo, full marks, synthetic students (one named in HTML), one not graded."""
    out = tmp_path_factory.mktemp("class")
    records = []
    for sid, (results, _) in (("demo", demo), ("ada", full_marks)):
        records.append(dict(results, student={"id": sid, "name": sid.title(), "user_id": None, "late": False,
                                              "source": "plain"}))
    records += [record("bob", {"rnn_forward": "error"}), record("cat", {"rnn_backward": "failed"}),
                record("eve", name=HOSTILE), failure("zed")]
    for graded in records[:-1]:
        write_reports(dict(graded, submission=graded["student"]["id"]), out)
    return records, write_summary(out, records, "CS231n RNN", {"assignment": "rnn", "seed": 7, "graded": 5})


def _box(locator):
    box = locator.bounding_box()
    assert box is not None, "%s is not rendered" % locator
    return box


def assert_items_visible(page, results):
    score = page.locator("p.score")
    assert score.is_visible() and score.inner_text().startswith("%g / %g" % (
        results["score"], results["automatic_max_score"]))
    for item in results["items"]:
        block = page.locator('[id="%s"]' % item["name"])
        assert block.is_visible() and item["name"] in block.inner_text(), item["name"]


def svgs_rendered(page):
    """How many SVGs the page draws; each, folded or not, must have an area once every <details> is open."""
    page.evaluate("document.querySelectorAll('details').forEach(function (d) { d.open = true; })")
    svgs = page.locator("svg")
    for k in range(svgs.count()):
        box = _box(svgs.nth(k))
        assert box["width"] > 0 and box["height"] > 0, k
    return svgs.count()


def assert_fits_a_phone(page):
    widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth]")
    assert max(widths) <= PHONE["viewport"]["width"], "the page is %s px wide on a phone" % widths


def test_the_browser_sees_what_a_page_should_not_do(visit, tmp_path):
    """The watch itself: a page that requests the network, logs an error and opens a dialog is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<img src="http://192.0.2.1/x.png"><script>console.error("boom"); alert("hi")</script>')
    seen = visit(page).trouble()
    assert seen["requests"] == ["http://192.0.2.1/x.png"] and "boom" in seen["console errors"]
    assert seen["dialogs"] == ["hi"]


def test_the_demo_report_leads_each_failing_item_with_its_point(visit, demo):
    results, path = demo
    shown = visit(path)
    page = shown.page
    shown.screenshot("demo-report.png", full_page=False)
    shown.screenshot("demo-report-full.png")
    assert_items_visible(page, results)
    failing = [i for i in results["items"] if i["status"] != "passed"]
    assert [i["name"] for i in failing] == ["rnn_backward", "word_embedding_backward", "CaptioningRNN.sample"]
    for item in failing:
        section = page.locator('section[id="%s"]' % item["name"])
        sentence = section.locator("p.point")
        assert sentence.inner_text() == point(item)
        assert _box(sentence)["y"] - _box(section)["y"] < 60, "the point is not in the item's first lines"
        assert section.locator("table.lead").is_visible() and item["hint"] in section.inner_text()
    backward = page.locator('section[id="rnn_backward"]')
    assert "worst element" in backward.locator("table.lead").inner_text()
    assert _box(backward.locator("svg[aria-label='where the array differs']"))["width"] > 0
    first = backward.locator("details.group").first
    assert not first.locator("li").first.is_visible()
    first.locator("> summary").click()
    assert first.get_attribute("open") is not None and first.locator("li").first.is_visible()
    passing = page.locator('details[id="rnn_step_forward"]')
    assert passing.get_attribute("open") is None and _box(passing)["height"] < 40
    passing.locator("> summary").click()
    assert passing.locator("details.group").first.is_visible()
    assert svgs_rendered(page) == 4  # rnn_backward's and word_embedding_backward's heat maps, captions, loss curve
    shown.assert_clean()


def test_the_demo_report_draws_the_inputs_the_captions_word_by_word_and_both_loss_curves(visit, demo):
    results, path = demo
    shown = visit(path)
    page = shown.page
    for item in (i for i in results["items"] if i["status"] != "passed"):
        inputs = page.locator('section[id="%s"] table.lead td.inputs' % item["name"])
        assert inputs.is_visible() and inputs.inner_text() == inputs_line(lead(item)["check"]["inputs"])
    sample = page.locator('section[id="CaptioningRNN.sample"]')
    caption = lead(e2e.item(results, "CaptioningRNN.sample"))["check"]["caption"]
    boxes = sample.locator("svg[aria-label=\"your caption and the reference's\"]")
    assert _box(boxes)["width"] > 0
    assert boxes.locator("g.word").count() == len(caption["got"]) + len(caption["expected"])
    differs = boxes.locator("g.word.differs")
    assert differs.count() >= 2 and all(_box(differs.nth(k))["width"] > 0 for k in range(differs.count()))
    assert differs.first.text_content() == caption["got"][caption["step"]]
    sample.screenshot(path=str(SHOTS / "demo-captions.png"))
    overfit = page.locator('details[id="overfit_small_data"]')
    overfit.locator("> summary").click()
    curve = overfit.locator("svg[aria-label='training loss']")
    for line in ("yours", "reference"):
        box = _box(curve.locator("polyline.%s" % line))
        assert box["width"] > 0.9 * _box(curve)["width"] - 20 and box["height"] > 10, line
    curve.screenshot(path=str(SHOTS / "demo-loss-curves.png"))
    shown.assert_clean()


def test_a_full_marks_report_is_one_line_per_item(visit, full_marks):
    results, path = full_marks
    assert results["score"] == results["automatic_max_score"] > 0
    shown = visit(path)
    shown.screenshot("full-marks-report.png")
    assert_items_visible(shown.page, results)
    assert shown.page.get_by_text("Every item passed.").is_visible()
    assert shown.page.locator("section.item").count() == 0
    heights = [_box(shown.page.locator('[id="%s"]' % i["name"]))["height"] for i in results["items"]]
    assert max(heights) < 40, heights
    shown.assert_clean()


def test_a_hostile_notebooks_html_stays_text(visit, hostile):
    results, path = hostile
    assert e2e.failing(results) == {"word_embedding_forward"}
    assert HOSTILE in e2e.item(results, "rnn_step_forward")["output"]
    shown = visit(path)
    page = shown.page
    assert_items_visible(page, results)
    page.evaluate("document.querySelectorAll('details').forEach(function (d) { d.open = true; })")
    shown.screenshot("hostile-report.png")
    raised = page.locator('section[id="word_embedding_forward"] p.point')
    assert raised.inner_text() == point(e2e.item(results, "word_embedding_forward")) and HOSTILE in raised.inner_text()
    assert HOSTILE in page.locator('[id="rnn_step_forward"] pre').inner_text()  # printed while graded
    cell = page.locator("details", has_text="RuntimeError").last
    assert HOSTILE in cell.locator("pre").inner_text()  # raised by a notebook cell
    assert page.locator("script, img, #injected").count() == 0
    assert page.evaluate("window.pwned === undefined")
    shown.assert_clean()


def test_the_class_summary_leads_folds_and_sorts(visit, summary):
    records, path = summary
    shown = visit(path)
    page = shown.page
    shown.screenshot("class-summary.png")
    headings = page.locator("h2").all_inner_texts()
    assert headings.index("Items") < headings.index("Most common failures") < headings.index("Scores") \
        < headings.index("Checks")
    for name in (i["name"] for i in records[0]["items"]):
        assert page.get_by_role("columnheader", name=name, exact=True).is_visible(), name
        assert page.locator("svg[aria-label='pass rate per item'] text", has_text=name).first.is_visible(), name
    backward = page.locator("details.checks", has_text="rnn_backward:").first
    dx = backward.locator("details.output", has_text="dx:").first
    assert not dx.is_visible()
    backward.locator("> summary").click()
    dx.locator("> summary").click()
    assert dx.locator("li").first.is_visible() and "dx vs" in dx.locator("li").first.inner_text()

    def ids():
        return page.locator("#students tbody tr td:first-child").all_inner_texts()
    assert ids() == ["ada", "bob", "cat", "demo", "eve", "zed"]
    score = page.get_by_role("columnheader", name="score", exact=True)
    score.click()
    scores = {r["student"]["id"]: r["score"] for r in records if "error" not in r}
    assert ids() == sorted(scores, key=lambda sid: (scores[sid], sid)) + ["zed"]
    score.click()
    assert ids()[:len(scores)] == sorted(scores, key=lambda sid: (-scores[sid], sid))
    assert HOSTILE in page.locator("#students").inner_text() and page.evaluate("window.pwned === undefined")
    assert svgs_rendered(page) == 3  # scores, items, slowest submissions
    shown.assert_clean()


@pytest.mark.parametrize("page_of, svgs", [("demo", 4), ("hostile", 0), ("summary", 3)])
def test_pages_fit_a_phone(visit, request, page_of, svgs):
    records, path = request.getfixturevalue(page_of)
    shown = visit(path, **PHONE)
    page = shown.page
    shown.screenshot("%s-phone.png" % page_of)
    assert_fits_a_phone(page)
    if page_of == "summary":
        for part in ("svg[aria-label='pass rate per item']", "div.wide"):  # the students table scrolls in div.wide
            box = _box(page.locator(part))
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"] + 1, part
    else:
        assert_items_visible(page, records)
        first = page.locator("section.item p.point").first
        box = _box(first)
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"]
    assert svgs_rendered(page) == svgs
    assert_fits_a_phone(page)  # every fold open too
    shown.assert_clean()
