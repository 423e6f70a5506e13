"""Student identities from LMS bulk-download names, and a listing grouped per student."""
from pathlib import Path

import pytest

from grader.classroom.identity import Identity, group, parse_name

CANVAS_LISTING = [
    "smithjohn_12345_6789012_RNN_Captioning.ipynb",
    "doejane_LATE_23456_6790001_RNN_Captioning.ipynb",
    # three uploads of one name: Canvas renamed the later ones -1, -2
    "leekim_34567_6790100_RNN_Captioning.ipynb",
    "leekim_34567_6790200_RNN_Captioning-1.ipynb",
    "leekim_34567_6790300_RNN_Captioning-2.ipynb",
    # a notebook with its modules, each file with its own file id
    "nguyenanh_45678_6791000_RNN_Captioning.ipynb",
    "nguyenanh_45678_6791001_rnn_layers.py",
    "nguyenanh_45678_6791002_rnn.py",
    # lowercase "late" (older Canvas), a module uploaded twice
    "garciamaria_late_56789_6792000_RNN_Captioning.ipynb",
    "garciamaria_late_56789_6792001_rnn_layers.py",
    "garciamaria_late_56789_6792500_rnn_layers-1.py",
    "obrienpat_67890_6793000_RNN Captioning (1).ipynb",
    "chenwei_78901_6794000.ipynb",  # original name dropped to the extension
    "patelraj_89012_6795000_.ipynb",
    "kowalskianna_90123_6796000_assignment3.zip",
    # a zip, and the folder the TA extracted it to
    "brownsam_11111_6797000_submission.zip",
    "brownsam_11111_6797000_submission/",
    "wilsonamy_22222_6798000_RNN_Captioning.ipynb",
    "wilsonamy_22222_6798001_writeup.pdf",
    "taylorjo_33333_text.html",
    "anon_x7Kp2_6799000_RNN_Captioning.ipynb",
    "müllerjürgen_44444_6800000_RNN_Captioning.ipynb",
    # the same name twice without a suffix (two downloads merged): the higher file id is newer
    "adamslee_55555_6801000_RNN_Captioning.ipynb",
    "adamslee_55555_6801500_RNN_Captioning.ipynb",
    "martinezluis_66666_6802000_2024_hw3.ipynb",
    "whitekate_77777_6803000_RNN_Captioning.ipynb",
    "harrisben_LATE_88888_6804000_RNN_Captioning-3.ipynb",
    # not a student's
    ".DS_Store",
    "__MACOSX/",
    "Thumbs.db",
    "notes.pdf",
    "weird name without ids.ipynb",
    "RNN_Captioning.ipynb",
    "rnn_layers.py",
]


def make_listing(root: Path, names):
    """Create the entries (a trailing "/" makes a folder) and return their paths."""
    paths = []
    for name in names:
        path = root / name.rstrip("/")
        if name.endswith("/"):
            path.mkdir()
        else:
            path.write_text("{}", encoding="utf-8")
        paths.append(path)
    return paths


@pytest.mark.parametrize("name, is_dir, expected", [
    ("smithjohn_12345_6789012_RNN_Captioning.ipynb", False,
     Identity("smithjohn_12345", "smithjohn", "12345", "6789012", False, 0, "canvas", "RNN_Captioning.ipynb")),
    ("smithjohn_LATE_12345_6789012_RNN_Captioning-1.ipynb", False,
     Identity("smithjohn_12345", "smithjohn", "12345", "6789012", True, 1, "canvas", "RNN_Captioning-1.ipynb")),
    ("smithjohn_late_12345_6789013_rnn_layers-2.py", False,
     Identity("smithjohn_12345", "smithjohn", "12345", "6789013", True, 2, "canvas", "rnn_layers-2.py")),
    ("smithjohn_12345_6789012.ipynb", False,
     Identity("smithjohn_12345", "smithjohn", "12345", "6789012", False, 0, "canvas", ".ipynb")),
    ("smithjohn_12345_6789012_RNN Captioning (1).ipynb", False,
     Identity("smithjohn_12345", "smithjohn", "12345", "6789012", False, 0, "canvas", "RNN Captioning (1).ipynb")),
    ("smith john_12345_6789012_x.ipynb", False,
     Identity("smith_john_12345", "smith john", "12345", "6789012", False, 0, "canvas", "x.ipynb")),
    ("LATE_anon_Ab3cD_6789012_2023_hw.ipynb", False,
     Identity("anon_ab3cd", "anon_Ab3cD", None, "6789012", True, 0, "canvas", "2023_hw.ipynb")),
    ("Jane Doe_417_assignsubmission_file_", True,
     Identity("jane_doe_417", "Jane Doe", "417", None, False, 0, "moodle", "")),
    ("Jane Doe_417_assignsubmission_file_RNN_Captioning.ipynb", False,
     Identity("jane_doe_417", "Jane Doe", "417", None, False, 0, "moodle", "RNN_Captioning.ipynb")),
    ("Team A-José Núñez_9_assignsubmission_file_", True,
     Identity("team_a-josé_núñez_9", "Team A-José Núñez", "9", None, False, 0, "moodle", "")),
    ("jdoe", True, Identity("jdoe", "jdoe", None, None, False, 0, "plain", "jdoe")),
    ("j.doe", True, Identity("j_doe", "j.doe", None, None, False, 0, "plain", "j.doe")),
    ("JDoe.ipynb", False, Identity("jdoe", "JDoe", None, None, False, 0, "plain", "JDoe.ipynb")),
    ("jdoe.zip", False, Identity("jdoe", "jdoe", None, None, False, 0, "plain", "jdoe.zip")),
    ("weird name without ids.ipynb", False,
     Identity("weird_name_without_ids", "weird name without ids", None, None, False, 0, "plain",
              "weird name without ids.ipynb")),
])
def test_parse_name(name, is_dir, expected):
    assert parse_name(name, is_dir) == expected


@pytest.mark.parametrize("name, is_dir", [
    (".DS_Store", False), ("__MACOSX", True), ("Thumbs.db", False), ("._RNN_Captioning.ipynb", False),
    ("notes.pdf", False), ("rnn_layers.py", False), ("README", False), ("cs231n", True),
    ("RNN_Captioning.ipynb", False), ("RNN_Captioning (1).ipynb", False), ("rnn-captioning-2.zip", False),
    ("smithjohn_12345_text.html", False), ("anon_x7Kp2_link.html", False), ("LATE_anon_x7Kp2_text.html", False),
    ("Jane Doe_417_assignsubmission_onlinetext_", True),
])
def test_names_that_name_no_student(name, is_dir):
    assert parse_name(name, is_dir) is None


def test_a_nfd_name_from_macos_gets_the_same_id():
    assert parse_name("mu\u0308ller_1_2_x.ipynb").id == parse_name("m\u00fcller_1_2_x.ipynb").id == "müller_1"


def test_canvas_listing_grouped_per_student(tmp_path):
    submissions, unrecognised = group(make_listing(tmp_path, CANVAS_LISTING))
    by_id = {s.identity.id: s for s in submissions}
    assert list(by_id) == ["adamslee_55555", "anon_x7kp2", "brownsam_11111", "chenwei_78901", "doejane_23456",
                           "garciamaria_56789", "harrisben_88888", "kowalskianna_90123", "leekim_34567",
                           "martinezluis_66666", "müllerjürgen_44444", "nguyenanh_45678", "obrienpat_67890",
                           "patelraj_89012", "smithjohn_12345", "whitekate_77777", "wilsonamy_22222"]

    def names(files):
        return [(f.path.name, f.name) for f in files]

    leekim = by_id["leekim_34567"]
    assert names(leekim.files) == [("leekim_34567_6790300_RNN_Captioning-2.ipynb", "RNN_Captioning.ipynb")]
    assert [f.path.name for f in leekim.superseded] == ["leekim_34567_6790100_RNN_Captioning.ipynb",
                                                         "leekim_34567_6790200_RNN_Captioning-1.ipynb"]
    assert (leekim.identity.attempt, leekim.identity.submission_id) == (2, "6790300")

    nguyen = by_id["nguyenanh_45678"]
    assert [f.name for f in nguyen.files] == ["RNN_Captioning.ipynb", "rnn.py", "rnn_layers.py"]
    assert nguyen.superseded == [] and nguyen.identity.original == "RNN_Captioning.ipynb"
    assert nguyen.paths == [f.path for f in nguyen.files]

    garcia = by_id["garciamaria_56789"]
    assert names(garcia.files) == [("garciamaria_late_56789_6792000_RNN_Captioning.ipynb", "RNN_Captioning.ipynb"),
                                   ("garciamaria_late_56789_6792500_rnn_layers-1.py", "rnn_layers.py")]
    assert [f.path.name for f in garcia.superseded] == ["garciamaria_late_56789_6792001_rnn_layers.py"]
    assert garcia.identity.late and garcia.identity.submission_id == "6792000"  # the notebook represents it

    brown = by_id["brownsam_11111"]
    assert names(brown.files) == [("brownsam_11111_6797000_submission", "submission")]
    assert [f.path.name for f in brown.superseded] == ["brownsam_11111_6797000_submission.zip"]

    assert by_id["adamslee_55555"].identity.submission_id == "6801500"
    assert [f.name for f in by_id["chenwei_78901"].files] == ["submission.ipynb"]
    assert [f.name for f in by_id["patelraj_89012"].files] == ["submission.ipynb"]
    assert [f.name for f in by_id["obrienpat_67890"].files] == ["RNN Captioning (1).ipynb"]
    assert [f.name for f in by_id["martinezluis_66666"].files] == ["2024_hw3.ipynb"]
    assert [f.name for f in by_id["kowalskianna_90123"].files] == ["assignment3.zip"]
    assert by_id["anon_x7kp2"].identity.user_id is None
    assert {i for i, s in by_id.items() if s.identity.late} == {"doejane_23456", "garciamaria_56789",
                                                                 "harrisben_88888"}
    assert by_id["harrisben_88888"].identity.attempt == 3
    assert all(s.identity.source == "canvas" for s in submissions)

    reasons = {u.path.name: u.reason for u in unrecognised}
    assert reasons == {
        ".DS_Store": "system, tool or course entry, not a student's submission",
        "RNN_Captioning.ipynb": "named after the assignment, not after a student",
        "Thumbs.db": "system, tool or course entry, not a student's submission",
        "__MACOSX": "system, tool or course entry, not a student's submission",
        "notes.pdf": "not a notebook, folder, zip or .py file",
        "rnn_layers.py": "a .py file with no student's name in it",
        "taylorjo_33333_text.html": "Canvas text or link entry: only uploaded files can be graded",
        "weird name without ids.ipynb": "no Canvas prefix in a Canvas download: cannot tell whose it is",
        "wilsonamy_22222_6798001_writeup.pdf": "not a notebook, folder, zip or .py file",
    }
    owner = {u.path.name: u.identity for u in unrecognised}
    assert owner["wilsonamy_22222_6798001_writeup.pdf"].id == "wilsonamy_22222"
    assert [f.name for f in by_id["wilsonamy_22222"].files] == ["RNN_Captioning.ipynb"]


def test_every_entry_is_accounted_for_once(tmp_path):
    paths = make_listing(tmp_path, CANVAS_LISTING)
    submissions, unrecognised = group(paths)
    seen = ([f.path for s in submissions for f in s.files + s.superseded] + [u.path for u in unrecognised])
    assert sorted(seen) == sorted(paths)


def test_moodle_folders_and_flat_files(tmp_path):
    paths = make_listing(tmp_path, [
        "Jane Doe_417_assignsubmission_file_/",
        "Jane Doe_417_assignsubmission_onlinetext_/",
        "Ali Khan_418_assignsubmission_file_/",
        "Bo Li_419_assignsubmission_file_RNN_Captioning.ipynb",
        "Bo Li_419_assignsubmission_file_rnn_layers.py",
        "Participant_420_assignsubmission_file_/",
        "Team A-Cy Ng_421_assignsubmission_file_/",
        "jdoe.ipynb",
    ])
    submissions, unrecognised = group(paths)
    assert [(s.identity.id, s.identity.name, s.identity.user_id) for s in submissions] == [
        ("ali_khan_418", "Ali Khan", "418"), ("bo_li_419", "Bo Li", "419"), ("jane_doe_417", "Jane Doe", "417"),
        ("participant_420", "Participant", "420"), ("team_a-cy_ng_421", "Team A-Cy Ng", "421")]
    assert [f.name for f in submissions[1].files] == ["RNN_Captioning.ipynb", "rnn_layers.py"]
    assert [f.name for f in submissions[2].files] == ["submission"]
    assert {u.path.name: u.reason for u in unrecognised} == {
        "Jane Doe_417_assignsubmission_onlinetext_": "Moodle onlinetext entry: only file submissions can be graded",
        "jdoe.ipynb": "no Moodle prefix in a Moodle download: cannot tell whose it is"}


def test_plain_names(tmp_path):
    paths = make_listing(tmp_path, [
        "jdoe/", "asmith.ipynb", "bkhan.zip", "cdiaz/", "cdiaz.zip", "elee.ipynb", "elee.zip",
        "weird name without ids.ipynb", "RNN_Captioning.ipynb", "notes.pdf", "__MACOSX/", "cs231n/",
    ])
    submissions, unrecognised = group(paths)
    assert [(s.identity.id, [f.name for f in s.files], [f.path.name for f in s.superseded])
            for s in submissions] == [
        ("asmith", ["asmith.ipynb"], []), ("bkhan", ["bkhan.zip"], []), ("cdiaz", ["cdiaz"], ["cdiaz.zip"]),
        ("jdoe", ["jdoe"], []), ("weird_name_without_ids", ["weird name without ids.ipynb"], [])]
    assert all(s.identity.source == "plain" and s.identity.user_id is None for s in submissions)
    reasons = {u.path.name: u.reason for u in unrecognised}
    assert (reasons["elee.ipynb"] == reasons["elee.zip"]
            == "several entries named after elee (elee.ipynb, elee.zip): keep one")
    assert reasons["RNN_Captioning.ipynb"] == "named after the assignment, not after a student"
    assert reasons["notes.pdf"] == "not a notebook, folder, zip or .py file"
    assert reasons["cs231n"] == reasons["__MACOSX"] == "system, tool or course entry, not a student's submission"
    assert len(unrecognised) == 6


def test_empty_listing():
    assert group([]) == ([], [])
