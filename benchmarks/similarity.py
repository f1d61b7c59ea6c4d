"""Does the similarity check rank a renamed copy above every honest pair, and how long does a
class of 100 take? (issue 16, item 6)

The honest submissions: the demo class (examples/mnist/submissions), the known answers
(tests/known_answers) and the ported real-world code (tests/realworld), each prepared as the
grader prepares it (a notebook becomes its extracted module). The planted copy: one
submission with every name its author chose renamed, comments dropped and the layout
rewritten by `ast.unparse` (what a student who copies does first).

    .venv/bin/python benchmarks/similarity.py [--students 100] [--copy realworld/b06...]

Prints the planted pair's rank and score, the best honest pair, and the time to compare the
class and a class of `--students` (the corpus repeated with renames).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import itertools
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader import similarity  # noqa: E402
from grader.authoring.assign import make_stub  # noqa: E402
from grader.config import find_assignment  # noqa: E402
from grader.run.submission import SubmissionError, prepare  # noqa: E402

CONFIG = find_assignment("mnist")
SAME_CODE = {"submissions/ben", "submissions/seed003_2020.py"}
"""Not honest pairs: ben is the demo's renamed copy of ada, and the demo's seed003_2020.py is
the known answer seed_003_2020 in one file."""
SOURCES = [ROOT / "examples" / "mnist" / "submissions", ROOT / "tests" / "known_answers",
           ROOT / "tests" / "realworld"]  # fmt: skip


def corpus() -> dict[str, dict[str, str]]:
    """id -> {file: code}, as the sandbox would run it."""
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for source in SOURCES:
            for entry in sorted(source.iterdir()):
                if entry.name.startswith((".", "README")):
                    continue
                sid = f"{source.name}/{entry.name}"
                if sid in SAME_CODE:
                    continue
                try:
                    prepared = prepare(entry, Path(tmp) / sid.replace("/", "_"), CONFIG.contract)
                except SubmissionError:
                    continue
                files = similarity.code_of(prepared.directory)
                if files:
                    found[sid] = files
    return found


class Renamer(ast.NodeTransformer):
    """Every name the author chose (not the contract's functions, builtins or imports)."""

    def __init__(self, keep: set[str], seed: int) -> None:
        self.keep, self.names, self.rng = keep, {}, random.Random(seed)

    def new(self, name: str) -> str:
        if name in self.keep or name in dir(builtins) or name.startswith("__"):
            return name
        if name not in self.names:
            self.names[name] = f"{self.rng.choice(['my', 'tmp', 'x', 'val'])}_{len(self.names)}"
        return self.names[name]

    def visit_Name(self, node):  # noqa: N802
        node.id = self.new(node.id)
        return node

    def visit_arg(self, node):  # noqa: N802
        node.arg = self.new(node.arg)
        return node

    def visit_FunctionDef(self, node):  # noqa: N802
        node.name = self.new(node.name)
        self.generic_visit(node)
        return node

    def visit_keyword(self, node):  # noqa: N802 - keyword names are the API's: kept
        self.generic_visit(node)
        return node


def renamed(files: dict[str, str], seed: int) -> dict[str, str]:
    """The copy: docstrings and comments gone, every name renamed but the imports and the
    contract's (its functions and their parameters: the grader calls them by keyword)."""
    keep = set(CONFIG.functions)
    out = {}
    for name, code in files.items():
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                keep |= {(a.asname or a.name).split(".")[0] for a in node.names}
            if isinstance(node, ast.FunctionDef) and node.name in CONFIG.functions:
                keep |= {a.arg for a in node.args.args + node.args.kwonlyargs}
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                    getattr(body[0], "value", None), ast.Constant) and len(body) > 1:  # fmt: skip
                del body[0]  # the docstring
        out[name] = ast.unparse(Renamer(keep, seed).visit(tree))
    return out


def template() -> dict[str, str]:
    found = {}
    for module in CONFIG.modules:
        path = CONFIG.root / f"{module}.py"
        found[f"reference/{module}.py"] = path.read_text()
        stub = make_stub(path)
        if stub is not None:
            found[f"stub/{module}.py"] = stub.stub
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--copy", default="examples/mnist/submissions/ada")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--engine",
        choices=["grader", "copydetect"],
        default="grader",
        help="with --copy all: whose comparison (copydetect: pip install it)",
    )
    args = parser.parse_args()
    honest = corpus()
    if args.copy == "all":
        every_copy(
            honest, copydetect_compare if args.engine == "copydetect" else similarity.compare
        )
        return
    copied = args.copy.split("/", 1)[-1] if args.copy not in honest else args.copy
    source = next(k for k in honest if k.endswith(copied.split("/", 1)[-1]))
    klass = {**honest, "planted/copy": renamed(honest[source], 1)}
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        pairs = similarity.compare(klass, template(), CONFIG.functions)
        times.append(time.perf_counter() - t0)
    rank = next(i for i, p in enumerate(pairs, 1) if "planted/copy" in (p.a, p.b))
    planted = pairs[rank - 1]
    best = next(p for p in pairs if "planted/copy" not in (p.a, p.b))
    compared = len({p.a for p in pairs} | {p.b for p in pairs})
    print(f"class: {len(klass)} submissions ({compared} with code of their own to compare)")
    partner = planted.a if planted.b == "planted/copy" else planted.b
    print(f"planted copy of {source}: rank {rank}, score {planted.score:.2f} "
          f"({planted.shared} shared fingerprints) with {partner}")  # fmt: skip
    print(f"best honest pair: {best.a} ~ {best.b}, score {best.score:.2f}")
    print(f"time: median {statistics.median(times):.3f} s over {args.repeat} runs")
    big = {}
    names = sorted(honest)
    for i in range(args.students):
        origin = names[i % len(names)]
        big[f"s{i:03d}"] = renamed(honest[origin], i) if i >= len(names) else honest[origin]
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        similarity.compare(big, template(), CONFIG.functions)
        times.append(time.perf_counter() - t0)
    print(
        f"{args.students} students: median {statistics.median(times):.3f} s over {args.repeat} runs"
    )


def copydetect_compare(klass: dict, template_code: dict, _keep) -> list:
    """The same question asked of copydetect (a maintained winnowing detector, `pip install
    copydetect`): its CopyDetector with its default thresholds (noise 25, guarantee 30
    tokens), each submission one file, the same template as its boilerplate folder."""
    import tempfile

    from copydetect import CopyDetector

    with tempfile.TemporaryDirectory() as tmp:
        subs, boiler = Path(tmp, "subs"), Path(tmp, "boilerplate")
        subs.mkdir()
        boiler.mkdir()
        for n, code in enumerate(template_code.values()):
            Path(boiler, f"t{n}.py").write_text(code)
        names = {}
        for n, (sid, files) in enumerate(sorted(klass.items())):
            path = Path(subs, f"s{n:03d}.py")
            path.write_text("\n\n".join(files[name] for name in sorted(files)))
            names[str(path)] = sid
        detector = CopyDetector(
            test_dirs=[str(subs)],
            boilerplate_dirs=[str(boiler)],
            extensions=["py"],
            autoopen=False,
            silent=True,
            display_t=0.0,
        )
        detector.run()
        files = detector.test_files
        matrix = detector.similarity_matrix
    pairs = []
    for i, j in itertools.combinations(range(len(files)), 2):
        sa, sb = matrix[i, j] if matrix[i, j][0] != -1 else matrix[j, i]
        if sa > 0 or sb > 0:
            pairs.append(similarity.Pair(names[files[i]], names[files[j]],
                                         round(float(max(sa, sb)), 4), 0, {}, {}))  # fmt: skip
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


def every_copy(honest: dict, compare=similarity.compare) -> None:
    """Plant a renamed copy of each submission in turn: is it always above every honest pair?"""
    base = compare(honest, template(), CONFIG.functions)
    ceiling = base[0].score if base else 0.0
    ranks, scores, missed = [], [], []
    for source in sorted(honest):
        pairs = compare({**honest, "planted/copy": renamed(honest[source], 7)},
                        template(), CONFIG.functions)  # fmt: skip
        mine = [p for p in pairs if "planted/copy" in (p.a, p.b)]
        if not mine:
            missed.append(source)  # too little code of its own once the template is removed
            continue
        top = mine[0]
        partner = top.a if top.b == "planted/copy" else top.b
        honest_above = [
            p for p in pairs if "planted/copy" not in (p.a, p.b) and p.score >= top.score
        ]
        ranks.append(len(honest_above) == 0 and partner == source)
        scores.append(top.score)
    print(f"best honest pair: {base[0].a} ~ {base[0].b}, score {ceiling:.2f}")
    print(
        f"planted copies compared: {len(ranks)}; ranked above every honest pair, matched to "
        f"their source: {sum(ranks)}; score min {min(scores):.2f}, median "
        f"{statistics.median(scores):.2f}"
    )
    print(f"not comparable (no code of their own beyond the template): {len(missed)}")


if __name__ == "__main__":
    main()
