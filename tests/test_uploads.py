"""Uploads that try to make the grader follow a link (issue 12, item 1), in every mode.

Before, `grader gradescope` copied the upload (following links) before anything looked for
them: an upload that was one symbolic link to reference/mnist was graded as the reference
(100/100), and `x.py -> /etc/shadow` put that file into results.json. Now nothing of an
untrusted input is followed or opened unless it is a regular file: a symbolic link (to a
folder, to a file, inside a folder), a fifo or a device is refused, and the one-line reason is
that student's result, in `grader gradescope`, `grader grade` and `grader check` alike. Each
case runs the real `grader` command (the reference's run is cached once per session).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import full_only

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "mnist"
MODULES = ("preprocessing", "models", "training")
GRADER = Path(sys.executable).with_name("grader")
TOKEN = "SECRET-7f3a9c-not-for-students"
"""The content of a root-only file an upload links to: it must appear in no output."""
UPLOADS = ["link-to-reference", "link-to-secret-file", "linked-folder-inside",
           "linked-module-inside", "fifo", "device"]  # fmt: skip
REASONS = {
    "link-to-reference": "mnist is a symbolic link",
    "link-to-secret-file": "mnist.py is a symbolic link",
    "linked-folder-inside": "helpers is a symbolic link",
    "linked-module-inside": "models.py is a symbolic link",
    "fifo": "mnist.py is not a regular file or folder (a named pipe)",
    "device": "mnist.py is not a regular file or folder (a device)",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    cache = tmp_path_factory.getbasetemp() / "reference-cache"
    return {**os.environ, "KERAS_GRADER_CACHE": str(cache), "COLUMNS": "200"}


@pytest.fixture(scope="module")
def secret(tmp_path_factory) -> Path:
    """A file only root may read (as /etc/shadow), holding TOKEN."""
    path = tmp_path_factory.mktemp("secret") / "shadow"
    path.write_text(f"root:{TOKEN}:19000:0:99999:7:::\n")
    path.chmod(0o600)
    return path


def make_upload(kind: str, folder: Path, secret: Path) -> Path:
    """What a student hands in, at `folder` (created, or made the entry itself)."""
    folder.mkdir(parents=True)
    if kind == "link-to-reference":
        (folder / "mnist").symlink_to(REFERENCE)
    elif kind == "link-to-secret-file":
        (folder / "mnist.py").symlink_to(secret)
    elif kind in ("linked-folder-inside", "linked-module-inside"):
        for module in MODULES:
            shutil.copyfile(REFERENCE / f"{module}.py", folder / f"{module}.py")
        if kind == "linked-folder-inside":
            (folder / "helpers").symlink_to(REFERENCE)
        else:
            (folder / "models.py").unlink()
            (folder / "models.py").symlink_to(REFERENCE / "models.py")
    elif kind == "fifo":
        os.mkfifo(folder / "mnist.py")
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device file needs root")
        os.mknod(folder / "mnist.py", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero
    return folder


def run(args, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(GRADER), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def everything_written(root: Path) -> str:
    """Every regular file under `root`, as text (to look for the secret in)."""
    texts = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                texts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(texts)


@pytest.mark.parametrize("kind", full_only(UPLOADS, ["fifo"]))
def test_gradescope_refuses_links_and_special_files(kind, tmp_path, env, secret):
    """Does `grader gradescope` refuse an upload that is or holds a link, a fifo or a device,
    exit 0 with results.json saying why in one line, score 0, and show nothing of what the
    link points to?"""
    upload = make_upload(kind, tmp_path / "autograder" / "submission", secret)
    results_path = tmp_path / "autograder" / "results" / "results.json"
    proc = run(["gradescope", "--submission", upload, "--results", results_path,
                "--budget", "quick"], env, tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(results_path.read_text())
    extra = results["extra_data"]
    assert extra["submission_status"] == "sandbox_error"
    assert extra["status_detail"] == f"submission refused: {REASONS[kind]}" + (
        " (hint: hand in the file itself)" if kind.startswith("link-to") else
        " (hint: hand in regular files only)" if "inside" in kind else ""
    )  # fmt: skip
    assert results["score"] == 0 and results["max_score"] > 0
    assert results["tests"] and all(t["score"] == 0 for t in results["tests"])
    assert REASONS[kind] in results["output"].splitlines()[0]
    assert TOKEN not in results_path.read_text() + proc.stdout + proc.stderr
    assert str(REFERENCE) not in results_path.read_text()


def test_grade_refuses_links_and_special_files(tmp_path, env, secret):
    """In `grader grade`, is each entry that is or holds a link, a fifo or a device its own
    sandbox_error with the reason, with the rest of the class graded and no secret anywhere?"""
    subs = tmp_path / "class"
    subs.mkdir()
    entries = {}
    for kind in UPLOADS:
        if kind == "device" and os.geteuid() != 0:
            continue
        staging = make_upload(kind, tmp_path / "staging" / kind, secret)
        children = list(staging.iterdir())
        if kind.endswith("inside"):  # a folder entry holding the link
            sid = kind.replace("-", "_")
            staging.rename(subs / sid)
        else:  # the entry is the link or special file itself
            (only,) = children
            sid = kind.replace("-", "_")
            only.rename(subs / f"{sid}{only.suffix}")
        entries[sid] = kind
    out = tmp_path / "out"
    proc = run(["grade", subs, "--out", out, "--budget", "quick"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert sorted(rows) == sorted(entries)
    for sid, kind in entries.items():
        assert rows[sid]["status"] == "sandbox_error" and float(rows[sid]["score"]) == 0
        details = json.loads((out / sid / "details.json").read_text())["result"]
        reason = REASONS[kind].replace("mnist", sid) if not kind.endswith("inside") else (
            REASONS[kind])  # fmt: skip
        assert details["status_detail"].startswith(f"submission refused: {reason}"), details
        assert re.search(rf"^\s+{sid}: sandbox_error: submission refused: ", proc.stdout, re.M)
    assert TOKEN not in everything_written(out) + proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "kind",
    full_only(["link-to-reference", "linked-folder-inside", "fifo"], ["linked-folder-inside"]),
)
def test_check_refuses_links_and_special_files(kind, tmp_path, env, secret):
    """Does `grader check` on a linked folder, a folder holding a link, or a fifo say why it
    refuses it, instead of following or blocking?"""
    staging = make_upload(kind, tmp_path / "work", secret)
    target = staging if kind.endswith("inside") else next(staging.iterdir())
    out = tmp_path / "out"
    proc = run(["check", target, "--out", out], env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = f"run status: sandbox_error: submission refused: {REASONS[kind]}"
    assert re.search(rf"^{re.escape(line)}", proc.stdout, re.M), proc.stdout
    assert "score on the visible checks: 0 /" in proc.stdout
