"""The similarity check (issue 16, item 6): a renamed, reformatted copy matches its source;
code everyone was given does not make a match; student code on the page is escaped; what
the sandbox left is read safely. benchmarks/similarity.py measures it on the whole corpus."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import grader.report
from grader import similarity
from grader.config import find_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import similarity as bench  # noqa: E402  (benchmarks/similarity.py: the corpus and renamer)

CONFIG = find_assignment("mnist")
KEEP = frozenset(CONFIG.functions)


def test_normalising_drops_comments_docstrings_names_and_layout():
    a = '''
def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    """Fit the model."""
    history = model.fit(x, y, epochs=epochs,   # the budget
                        batch_size=batch_size, validation_split=validation_split,)
    return (history)
'''
    b = "def train(m, xs, ys, *, epochs, batch_size, validation_split=0.0):\n" \
        "    h = m.fit(xs, ys, epochs=epochs, batch_size=batch_size, " \
        "validation_split=validation_split)\n    return h\n"
    texts = lambda code: [t.text for t in similarity.normalise(code, "f.py", KEEP)]  # noqa: E731
    assert texts(a) == texts(b)
    assert "fit" in texts(a) and "model" not in texts(a)
    assert similarity.normalise("def f(:\n  x = 'unclosed", "f.py") is not None  # no raise


def test_a_renamed_copy_matches_its_source_and_the_tutorial_does_not():
    corpus = {k: v for k, v in bench.corpus().items() if k.startswith("realworld/")}
    source = next(k for k in corpus if k.startswith("realworld/b06"))
    assert source in corpus, sorted(corpus)[:5]
    klass = {**corpus, "copy": bench.renamed(corpus[source], 3)}
    pairs = similarity.compare(klass, bench.template(), KEEP)
    top = pairs[0]
    assert {top.a, top.b} == {source, "copy"} and top.score >= 0.9, pairs[:3]
    honest = [p for p in pairs if "copy" not in (p.a, p.b)]
    assert honest[0].score < top.score
    assert top.lines_a and top.lines_b  # the matching lines, for the page
    # Two students who both hand in the reference (the tutorial's code): no match at all.
    reference = {f"{m}.py": (CONFIG.root / f"{m}.py").read_text() for m in CONFIG.modules}
    tutorial = {"x": reference, "y": bench.renamed(reference, 5)}
    assert similarity.compare(tutorial, bench.template(), KEEP) == []


def test_the_page_escapes_student_code(tmp_path):
    hostile = "def build_mlp(input_dim=784, num_classes=10):\n" + "".join(
        f"    v{i} = '</pre><script>alert({i})</script>' + str({i} * 7 + 3)\n" for i in range(30)
    )
    result = {
        "pairs": similarity.compare({"a": {"m.py": hostile}, "b": {"m.py": hostile}}),
        "compared": 2, "seconds": 0.1, "code": {"a": {"m.py": hostile}, "b": {"m.py": hostile}},
    }  # fmt: skip
    page = grader.report.similarity(similarity.page_context(result, {}, "T"))
    assert "<script>alert" not in page and "&lt;/pre&gt;&lt;script&gt;" in page
    assert 'class="match"' in page


def test_code_is_read_without_following_links_or_reading_huge_files(tmp_path):
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "big.py").write_bytes(b"x" * 2_000_000)
    (tmp_path / "binary.py").write_bytes(b"\xff\xfe\x00 not utf-8")
    os.symlink("/etc/passwd", tmp_path / "link.py")
    os.mkfifo(tmp_path / "fifo.py")
    files = similarity.code_of(tmp_path)
    assert set(files) == {"ok.py", "binary.py"}
    assert similarity.code_of(tmp_path / "missing") == {}


@pytest.mark.parametrize("n", [0, 1])
def test_too_few_submissions_compare_to_nothing(n):
    assert similarity.compare({f"s{i}": {"m.py": "x = 1\n" * 50} for i in range(n)}) == []
