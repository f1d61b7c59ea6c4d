"""Ids and exports against hostile entry names (issue 12, items 8 and 9).

A student's entry name becomes an id that names OUT/<id>/, a row of grades.csv, a test suite
of junit.xml and lines on the terminal. Here: ids are made safe and distinct (`safe_id`,
`assign_ids`); the loaders survive what a class folder can hold (names that are not UTF-8, a
folder 1,100 levels deep, a notebook with a 5,000-digit number, fifos) with a one-line reason
for that entry only, locally and on a Dask cluster; every text written to XML, CSV or a
terminal is defused. The end-to-end run at the bottom grades such a class with `grader grade`
(slow: it trains the reference once).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from mnist import prepare

from grader.progress import PlainProgress, RichProgress, printable
from grader.report.exports import grades_csv, junit_xml
from grader.report.results import CheckResult, SubmissionResult
from grader.run.submission import (
    MAX_ID_BYTES,
    MAX_ID_CHARS,
    RESERVED_IDS,
    SubmissionError,
    assign_ids,
    content_hash,
    discover,
    safe_id,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from treewalk import remove_deep_chain  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STUBS = ROOT / "assignments" / "mnist"
MODULES = ("preprocessing", "models", "training")
GRADER = Path(sys.executable).with_name("grader")
NOT_UTF8 = os.fsdecode(b"caf\xe9")
"""A name a Linux file system accepts and UTF-8 cannot decode (`caf` + Latin-1 `é`)."""
ESC = "\x1b"
HOSTILE_NAMES = [
    NOT_UTF8, "grades.csv", "GRADES.CSV", "junit.xml", "index.html", "results.json", ".work",
    ".", "..", "", "   ", "a" * 250, "é" * 150, "\x1b[31mred\x1b[0m", "evil\n[run] 1/1 x: ok",
    "bell\x07", "rtl\u202egnp.py", "nul\x00", "tab\there", "zero\u200bwidth", "line\u2028sep",
    "a/b", "back\\slash", "\ud800lone", "\x85next", "=cmd()",
]  # fmt: skip


def _deep(root: Path, levels: int) -> Path:
    """A chain of `levels` nested folders `d`, made without recursion, with a file at the end."""
    root.mkdir(parents=True)
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
        with open(os.open("leaf.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
            f.write("x = 1\n")
    finally:
        os.close(fd)
    return root


@pytest.fixture
def deep_tree(tmp_path):
    """A folder submission 1,100 levels deep (deeper than Python's recursion limit)."""
    path = _deep(tmp_path / "deep", 1100)
    yield path
    remove_deep_chain(path)  # shutil.rmtree (pytest's clean-up) recurses and would die


def _bignum_notebook(path: Path) -> Path:
    """A notebook whose JSON holds a 5,000-digit integer (json.loads raises ValueError)."""
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"n": 0}, "cells": []}
    path.write_text(json.dumps(notebook).replace('"n": 0', '"n": ' + "1" * 5000))
    return path


def _result(sid: str, status: str = "ok", detail: str = "", feedback: str = "") -> SubmissionResult:
    check = CheckResult(name="test_x", title="x", part="mlp", max_score=10, score=0,
                        feedback=feedback)  # fmt: skip
    return SubmissionResult(id=sid, assignment="mnist", status=status, status_detail=detail,
                            checks=(check,))  # fmt: skip


# ---- safe ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice", "alice"),
        ("anne-marie o'neil", "anne-marie o'neil"),
        ("José", "José"),
        ("Jose\u0301", "José"),  # decomposed: NFC
        (NOT_UTF8, "caf_"),
        ("grades.csv", "grades.csv_"),
        ("Junit.XML", "Junit.XML_"),
        (".work", "_work"),
        ("..", "_."),
        ("", "_"),
        ("  bob ", "bob"),
        ("\x1b[31mred", "_[31mred"),
        ("two\nlines", "two_lines"),
        ("rtl\u202eyxp.exe", "rtl_yxp.exe"),
        ("a/b\\c", "a_b_c"),
    ],
)  # fmt: skip
def test_safe_id(raw, expected):
    """Is a hostile name made into the expected id, and an ordinary one left alone?"""
    sid, why = safe_id(raw)
    assert sid == expected
    assert (why is None) == (raw == expected)


@pytest.mark.parametrize("raw", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_no_safe_id_can_be_a_class_file_or_break_an_export(raw):
    """Is every id a single printable line, of bounded length, UTF-8, that is neither a file the
    grader writes nor hidden, nor a path?"""
    sid, _ = safe_id(raw)
    assert sid and sid == sid.strip()
    assert sid.casefold() not in RESERVED_IDS and not sid.startswith(".")
    assert "/" not in sid and "\\" not in sid and sid not in (".", "..")
    assert len(sid) <= MAX_ID_CHARS and len(sid.encode("utf-8")) <= MAX_ID_BYTES
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in sid)
    assert printable(sid) == sid
    assert unicodedata.normalize("NFC", sid) == sid


def test_long_names_stay_distinct():
    """Are two long names that share their first 100 characters given different ids?"""
    a, _ = safe_id("x" * 120 + "a")
    b, _ = safe_id("x" * 120 + "b")
    assert a != b and a.startswith("x" * 80) and b.startswith("x" * 80)


def test_colliding_entries_are_both_kept_with_a_note(tmp_path):
    """Do entries whose names become the same id keep distinct ids, the one whose name is
    already safe keeping its own, each renamed one with a note naming the other?"""
    names = ["bob\x01", "bob\x02", "bob_", "ann", "ann"]
    entries = assign_ids([tmp_path / f"{i}.py" for i in range(len(names))], names)
    ids = [e.id for e in entries]
    assert len(set(ids)) == len(ids)
    assert ids[2] == "bob_" and entries[2].notes == ()
    assert sorted(ids[:2]) == ["bob_~2", "bob_~3"]
    assert ids[3:] == ["ann", "ann~2"]
    for entry in (entries[0], entries[1]):
        (note,) = entry.notes
        assert f"under the id {entry.id!r}" in note and "'bob_' is already the id" in note
        assert "control" in note


def test_ids_are_the_same_whatever_the_order(tmp_path):
    """Is the id of each entry independent of the order the entries come in (reruns)?"""
    names = ["bob\x01", "bob\x02", "bob_", NOT_UTF8, "caf_"]
    paths = [tmp_path / n for n in ("a", "b", "c", "d", "e")]
    forward = {e.path: e.id for e in assign_ids(paths, names)}
    backward = {e.path: e.id for e in assign_ids(paths[::-1], names[::-1])}
    assert forward == backward


# ---- loaders against a hostile class folder ------------------------------------------------


def test_discover_keeps_hostile_entries_without_following_them(tmp_path):
    """Does discover() list entries with names that are not UTF-8, links and fifos (to be
    refused with a reason) without following or opening them, and skip other files?"""
    (tmp_path / f"{NOT_UTF8}.py").write_text("x = 1\n")
    (tmp_path / "grades.csv.py").write_text("x = 1\n")
    (tmp_path / "linked").symlink_to(STUBS)
    (tmp_path / "shadow.py").symlink_to("/etc/shadow")
    (tmp_path / "notes.txt").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "README").write_text("")
    found = sorted(p.name for p in discover(tmp_path))
    assert found == sorted([f"{NOT_UTF8}.py", "grades.csv.py", "linked", "shadow.py", "pipe.py"])
    assert sorted(e.id for e in assign_ids(discover(tmp_path))) == [
        "caf_", "grades.csv_", "linked", "pipe", "shadow",
    ]  # fmt: skip


def test_content_hash_never_follows_or_blocks(tmp_path):
    """Is a link hashed as its target's name (not the target's bytes), a fifo as a fifo
    (without blocking), a name that is not UTF-8 as its bytes?"""
    secret = tmp_path / "secret.py"
    secret.write_text("TOKEN = 1\n")
    (tmp_path / "link.py").symlink_to(secret)
    (tmp_path / "other.py").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tmp_path / "pipe.py")
    assert content_hash(tmp_path / "link.py") != content_hash(secret)
    assert content_hash(tmp_path / "link.py") != content_hash(tmp_path / "other.py")
    assert len(content_hash(tmp_path / "pipe.py")) == 64
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / f"{NOT_UTF8}.py").write_text("x = 1\n")
    os.mkfifo(folder / "pipe.py")
    assert len(content_hash(folder)) == 64


def test_a_folder_1100_deep_is_hashed_and_refused(deep_tree, tmp_path):
    """Is a folder nested 1,100 deep hashed (no RecursionError, stable) and refused in one
    line?"""
    assert content_hash(deep_tree) == content_hash(deep_tree)
    with pytest.raises(SubmissionError, match=r"^d(/d){8} is nested deeper than 8 folders$"):
        prepare(deep_tree, tmp_path / "out")


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_name_that_is_not_utf8_inside_a_folder_is_refused(tmp_path, where):
    """Is a file or folder whose name is not UTF-8 inside a submission refused in one line?"""
    source = tmp_path / "sub"
    (source / "x").mkdir(parents=True)
    (source / "preprocessing.py").write_text("x = 1\n")
    if where == "file":
        (source / f"{NOT_UTF8}.py").write_text("x = 1\n")
    else:
        (source / "x" / NOT_UTF8).mkdir()
    with pytest.raises(SubmissionError, match="has a name that is not valid UTF-8") as err:
        prepare(source, tmp_path / "out")
    str(err.value).encode("utf-8")  # the message itself is UTF-8


def test_a_notebook_with_a_5000_digit_number_is_refused(tmp_path):
    """Is a notebook whose JSON holds a 5,000-digit integer refused, not a crash?"""
    with pytest.raises(SubmissionError, match="not a valid notebook"):
        prepare(_bignum_notebook(tmp_path / "big.ipynb"), tmp_path / "out")


@pytest.mark.parametrize("kind", ["fifo", "device", "socket"])
def test_special_files_are_refused_without_being_opened(tmp_path, kind):
    """Is a fifo, device or socket (as the submission, or inside a folder) refused at once,
    never opened (a fifo would block the grader for ever)?"""
    import socket

    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "preprocessing.py").write_text("x = 1\n")
    for path in (tmp_path / "single.py", folder / "models.py"):
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "device":
            if os.geteuid() != 0:
                pytest.skip("making a device file needs root")
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null
        else:
            sock = socket.socket(socket.AF_UNIX)
            cwd = os.getcwd()
            os.chdir(path.parent)  # a relative name: a socket's path may not exceed 107 bytes
            try:
                sock.bind(path.name)
            finally:
                os.chdir(cwd)
                sock.close()
    what = {"fifo": "a named pipe", "device": "a device", "socket": "a socket"}[kind]
    with pytest.raises(SubmissionError, match=f"single.py is not a regular file.*{what}"):
        prepare(tmp_path / "single.py", tmp_path / "out1")
    with pytest.raises(SubmissionError, match=f"models.py is not a regular file.*{what}"):
        prepare(folder, tmp_path / "out2")


def test_any_loader_failure_is_a_submission_error(tmp_path):
    """Does prepare() turn whatever goes wrong while loading one submission into a one-line
    SubmissionError without the grader's paths (here: a file it may not read)?"""
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    source = tmp_path / "sub"
    source.mkdir()
    (source / "preprocessing.py").write_text("x = 1\n")
    (source / "preprocessing.py").chmod(0)
    with pytest.raises(SubmissionError, match="could not load this submission") as err:
        prepare(source, tmp_path / "out")
    assert str(tmp_path) not in str(err.value)


# ---- the Dask path: one entry never sinks the batch ----------------------------------------


def test_cluster_validation_records_each_bad_entry(tmp_path):
    """On a Dask cluster, are a 5,000-digit notebook, a folder 1,100 deep, links (one with a
    250-character name that is not UTF-8) and a fifo each their own sandbox_error, in one line,
    before any task is sent?"""
    distributed = pytest.importorskip("distributed")
    from grader.config import find_assignment
    from grader.run import cluster as gd

    subs = tmp_path / "class"
    subs.mkdir()
    _bignum_notebook(subs / "bignum.ipynb")
    _deep(subs / "deep", 1100)
    (subs / ("x" * 240 + NOT_UTF8 + ".py")).symlink_to("/etc/shadow")  # a long id, refused
    (subs / "linked").symlink_to(STUBS)
    os.mkfifo(subs / "pipe.py")
    work = tmp_path / "work"
    work.mkdir()
    for name in gd.SHARED_FILES:  # what the reference's run leaves (never read here)
        (work / name).write_bytes(b"unused")
    todo = {e.id: e.path for e in assign_ids(discover(subs))}
    config = find_assignment("mnist")
    try:
        with distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster:  # fmt: skip
            records = dict(gd.run_on_cluster(cluster.scheduler_address, todo, config,
                                             config.budget("quick"), work))  # fmt: skip
    finally:
        remove_deep_chain(subs / "deep")
    assert sorted(records) == sorted(todo)
    for sid, record in records.items():
        assert record.status == "sandbox_error", sid
        assert "\n" not in record.detail and record.detail.startswith("submission refused: ")
    assert "not a valid notebook" in records["bignum"].detail
    assert "nested deeper than 8 folders" in records["deep"].detail
    assert "is a symbolic link" in records["linked"].detail
    assert "a named pipe" in records["pipe"].detail
    (long,) = [sid for sid in todo if sid.startswith("xxx")]
    assert len(long) <= MAX_ID_CHARS and "is a symbolic link" in records[long].detail
    assert not [p for p in work.iterdir() if p.name not in gd.SHARED_FILES]  # scratch removed


# ---- exports: CSV, XML, terminal -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sid", "cell"),
    [
        ("x;=cmd()", "x;'=cmd()"),
        ("x; =cmd()", "x;' =cmd()"),
        ("a;b;+1", "a;b;'+1"),
        ("x,@SUM(A1)", "x,'@SUM(A1)"),
        (" =cmd()", "' =cmd()"),
        ("\u00a0=cmd()", "'\u00a0=cmd()"),
        ("\u200b-1", "'\u200b-1"),
        ("\u3000@x", "'\u3000@x"),
        ("\uff1dcmd()", "'\uff1dcmd()"),
        ("=a;=b", "'=a;'=b"),
    ],
    ids=["semicolon", "semicolon-space", "second-semicolon", "comma", "space", "nbsp",
         "zero-width", "ideographic-space", "full-width-equals", "both"],
)  # fmt: skip
def test_grades_csv_defuses_formulas_after_blanks_and_separators(sid, cell):
    """Is a formula defused when it starts after blanks (space, NBSP, invisible characters) or
    after a `;` or `,` that another locale splits cells on?"""
    text = grades_csv([_result(sid)])
    (row,) = list(csv.reader(io.StringIO(text)))[1:]
    assert row[0] == cell


@pytest.mark.parametrize("sid", ["anne-marie", "x=1", "a;b", "o'neil; jr", "a, b", "1+1"])
def test_grades_csv_leaves_ordinary_ids_alone(sid):
    """Are ids with inner separators or operators, but no formula, written as they are?"""
    (row,) = list(csv.reader(io.StringIO(grades_csv([_result(sid)]))))[1:]
    assert row[0] == sid


def test_junit_is_valid_whatever_the_ids_and_texts():
    """Does junit.xml parse when ids, details, titles and feedback hold control characters,
    lone surrogates and markup, with those characters dropped from attributes and text?"""
    nasty = "a\x01b\x1b[31m\x0c\ud800\ufffe<x>&\"'"
    results = [_result(nasty, "crash", nasty, nasty), _result("plain")]
    text = junit_xml(results)
    text.encode("utf-8")  # no lone surrogate left
    suites = ET.fromstring(text).findall("testsuite")
    names = [s.get("name") for s in suites]
    assert names == ["ab[31m<x>&\"'", "plain"]
    case = suites[0].find("testcase")
    assert case.get("classname") == "ab[31m<x>&\"'.mlp"
    assert suites[0].find("system-err").text == "crash: ab[31m<x>&\"'"


def test_printable_escapes_what_a_terminal_would_run():
    """Are escape sequences, line breaks, bidi overrides and bytes that are not UTF-8 shown
    escaped on one line, and ordinary text (accents, spaces) left alone?"""
    assert printable("\x1b[2J\x1b]0;owned\x07") == "\\x1b[2J\\x1b]0;owned\\x07"
    assert printable("a\nb\r\tc") == "a\\nb\\r\\tc"
    assert printable("a\r\nb\tc", newlines=True) == "a\nb\tc"
    assert printable("rtl\u202ecod") == "rtl\\u202ecod"
    assert printable(NOT_UTF8) == "caf\ufffd"
    assert printable("Zoë O'Neil, 10 %") == "Zoë O'Neil, 10 %"


def test_progress_lines_cannot_be_forged_or_escape():
    """Does plain progress print one line per step, with no escape character, whatever the
    message holds; and does the live bar show markup-like text instead of crashing on it?"""
    stream = io.StringIO()
    plain = PlainProgress(stream)
    plain.phase("run", 1)
    plain.advance(f"evil\n[run] 1/1 forged: ok{ESC}[2J: crash (1.0 s)")
    plain.info(f"{ESC}]0;title{ESC}\\ kept")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and ESC not in stream.getvalue()
    assert not any(line.startswith("[run] 1/1 forged") for line in lines)

    from rich.console import Console

    out = io.StringIO()
    bar = RichProgress(Console(file=out, force_terminal=False, width=200))
    try:
        bar.phase("run", 2)
        bar.advance("[/] [bold]x[/bold] \x1b[31m: ok")
        bar.info("[/]\x1b[2J")
    finally:
        bar.close()
    text = out.getvalue()
    assert "[/] [bold]x[/bold] \\x1b[31m: ok" in text
    assert "\x1b[2J" not in text


# ---- end to end: `grader grade` on a hostile class -----------------------------------------


def _hostile_class(root: Path) -> Path:
    """One ordinary student (the stubs) among entries that each sank a batch before."""
    root.mkdir(parents=True)
    (root / "zero").mkdir()
    for module in MODULES:
        shutil.copyfile(STUBS / f"{module}.py", root / "zero" / f"{module}.py")
    for name in [f"{NOT_UTF8}.py", "grades.csv.py", "index.html.py", "\x1b[31mred\x1b[0m.py",
                 "evil\n[run] 1 forged: ok.py", "x" * 250 + ".py", "bob\x01.py", "bob\x02.py",
                 "bob_.py", "x;=cmd().py"]:  # fmt: skip
        (root / name).write_text("x = 1\n")
    _bignum_notebook(root / "bignum.ipynb")
    _deep(root / "deep", 1100)
    return root


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """`grader grade` twice on the hostile class (the second run resumes): (runs, OUT)."""
    base = tmp_path_factory.mktemp("hostile")
    subs = _hostile_class(base / "class")
    out = base / "out"
    env = {
        **os.environ,
        "COLUMNS": "200",
        "KERAS_GRADER_CACHE": str(tmp_path_factory.getbasetemp() / "reference-cache"),
    }
    args = [str(GRADER), "grade", str(subs), "--out", str(out), "--budget", "quick"]
    runs, grades = [], []
    try:
        for _ in range(2):
            runs.append(subprocess.run(args, cwd=base, env=env, capture_output=True,
                                       timeout=900, stdin=subprocess.DEVNULL))  # fmt: skip
            grades.append((out / "grades.csv").read_bytes() if runs[-1].returncode == 0 else b"")
    finally:
        remove_deep_chain(subs / "deep")
    yield runs, grades, out


def _rows(out: Path) -> dict[str, dict]:
    text = (out / "grades.csv").read_text(encoding="utf-8")
    return {row["id"]: row for row in csv.DictReader(io.StringIO(text))}


@pytest.mark.slow
def test_a_hostile_class_is_graded_entry_by_entry(hostile_run):
    """Is every entry of the hostile class graded or refused on its own, under a safe id, with
    the class files written, valid and free of any student's folder?"""
    (first, _), _, out = hostile_run
    assert first.returncode == 0, first.stderr[-3000:]
    rows = _rows(out)
    expected = {"zero", "caf_", "grades.csv_", "index.html_", "_[31mred_[0m",
                "evil_[run] 1 forged: ok", "bob_", "bob_~2", "bob_~3", "x;'=cmd()", "bignum",
                "deep"}  # fmt: skip
    assert expected <= set(rows) and len(rows) == len(expected) + 1
    (long,) = [sid for sid in rows if sid.startswith("xxxx")]
    assert len(long) <= MAX_ID_CHARS
    assert all(float(row["max_score"]) > 0 for row in rows.values())
    assert rows["bignum"]["status"] == rows["deep"]["status"] == "sandbox_error"
    assert (out / "grades.csv").is_file() and (out / "index.html").is_file()
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert len(suites) == len(rows)
    for sid in ("grades.csv_", "index.html_", "caf_", "bob_~2", "x;=cmd()", long):
        details = json.loads((out / sid / "details.json").read_text(encoding="utf-8"))
        assert details["result"]["id"] == sid
    notes = json.loads((out / "bob_~2" / "details.json").read_text())["result"]["settings"]
    assert any("'bob_' is already the id" in note for note in notes["notes"])
    deep = json.loads((out / "deep" / "results.json").read_text())
    assert "nested deeper than 8 folders" in deep["output"]


@pytest.mark.slow
def test_a_hostile_class_cannot_write_to_the_terminal(hostile_run):
    """Do no escape character and no forged progress line reach the terminal, and does every
    line stay valid UTF-8?"""
    (first, _), _, _ = hostile_run
    stdout = first.stdout.decode("utf-8")  # strict: raises on anything that is not UTF-8
    first.stderr.decode("utf-8")
    assert ESC.encode() not in first.stdout + first.stderr
    assert not re.search(r"^\[run\] 1 forged", stdout, re.M), stdout
    assert re.search(r"^\[run\] \d+/\d+ evil_\[run\] 1 forged: ok: ", stdout, re.M), stdout


@pytest.mark.slow
def test_a_hostile_class_resumes(hostile_run):
    """Does a rerun on the same OUT keep every entry, under the same ids, with the same grades?"""
    (_, second), (before, after), out = hostile_run
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count(b": unchanged since the last run, kept") == 13
    assert re.search(rb"graded now / kept\W+0 / 13\b", second.stdout), second.stdout[-2000:]
    assert not re.search(rb"^\[(run|check)\]", second.stdout, re.M)  # no phase ran
    assert before == after and before.count(b"\r\n") == 14


@pytest.mark.slow
@pytest.mark.full  # the gate keeps the hostile class
def test_an_unwritable_student_folder_sinks_only_that_student(tmp_path, tmp_path_factory):
    """If one student's folder cannot be written (a file stands in its place), is that student
    sandbox_error with the reason, and everyone else written; and is a class file's name taken
    by a folder (left by an older grader) one clear error line?"""
    subs = tmp_path / "class"
    subs.mkdir()
    for sid in ("ann", "ben"):
        (subs / f"{sid}.py").symlink_to(STUBS / "models.py")  # refused: no sandbox run needed
    out = tmp_path / "out"
    out.mkdir()
    (out / "ann").write_text("in the way\n")
    env = {
        **os.environ,
        "KERAS_GRADER_CACHE": str(tmp_path_factory.getbasetemp() / "reference-cache"),
    }
    args = [str(GRADER), "grade", str(subs), "--out", str(out), "--budget", "quick"]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = _rows(out)
    assert rows["ann"]["status"] == rows["ben"]["status"] == "sandbox_error"
    assert (out / "ben" / "details.json").is_file()
    assert not (out / "ann").is_dir()
    assert re.search(r"ann: sandbox_error: the grader could not write this submission's "
                     r"results: \w+Error", proc.stdout), proc.stdout  # fmt: skip

    (out / "ann").unlink()
    (out / "grades.csv").unlink()
    (out / "grades.csv").mkdir()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("error: ") and "grades.csv is a folder" in lines[0]
    assert lines[1].startswith("hint: ")
