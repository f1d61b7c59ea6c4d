"""Similarity across a class: MOSS-style winnowing over normalised Python tokens.

A flag for a human, never a grade. Each submission's code (the modules the sandbox ran, so a
notebook counts by its extracted code) is tokenised; comments, docstrings and layout are
dropped, and every name the student chose (variables, functions, arguments) becomes `V`,
while attribute names (`.Dense`, `.fit`), keywords, the contract's function names and
numbers stay: a renamed copy reads the same, two different models do not. Hashes of
`K`-token windows are winnowed (Schleimer, Wilkerson and Aiken, SIGMOD 2003): the minimum of
each window of `W` hashes is a fingerprint. Fingerprints of the code every student was given
or told to write (the stubs and the reference solution, which follows the course's
tutorial) are removed, so two students who both followed the tutorial do not match on it.
The score of a pair is the share of the smaller submission's fingerprints found in the
other's; pairs are ranked, and the matching lines are shown side by side.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import keyword
import time
import token
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

K = 12
"""Tokens per fingerprinted window (a short statement is about 8 to 15 tokens)."""
W = 4
"""Winnowing window: every run of W + K - 1 matching tokens shares a fingerprint."""
MIN_FINGERPRINTS = 8
"""A submission with fewer fingerprints of its own (after the template's) is not compared:
too little code of its own to tell anything."""
FLAG = 0.7
"""Pairs sharing at least this share of the smaller one's fingerprints are flagged."""


@dataclass(frozen=True)
class Token:
    text: str
    file: str
    line: int


@dataclass
class Document:
    """One submission's normalised code and fingerprints (hash -> source lines)."""

    id: str
    files: dict[str, str]
    tokens: list[Token] = field(default_factory=list)
    prints: dict[int, set[tuple[str, int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float
    """Share of the smaller submission's fingerprints that the other one has (0..1)."""
    shared: int
    lines_a: dict[str, tuple[int, ...]]
    lines_b: dict[str, tuple[int, ...]]


def normalise(source: str, file: str, keep: frozenset[str] = frozenset()) -> list[Token]:
    """The code's tokens with the student's own names made `V` (see the module docstring);
    code that does not tokenise is compared by what tokenises before the error."""
    out: list[Token] = []
    previous, previous_kind = "", None
    at_statement_start = True
    parens: list[bool] = []  # per open "(": is it a call's (kept) or grouping (dropped)?
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            kind, text = tok.type, tok.string
            if kind in (token.COMMENT, token.NL, token.INDENT, token.DEDENT, token.ENCODING):
                continue
            if kind == token.NEWLINE:
                at_statement_start = True
                continue
            if kind == token.STRING:
                if at_statement_start:  # a docstring, or a bare string: not code
                    continue
                text = "S"
            elif kind == token.NAME:
                if not (keyword.iskeyword(text) or previous == "." or text in keep):
                    text = "V"
            elif kind == token.NUMBER:
                text = _number(text)
            elif text == "(":
                call = previous in (")", "]") or (
                    previous_kind == token.NAME and not keyword.iskeyword(previous)
                )
                parens.append(call)
                if not call:  # `(a + b)`, `(a, b)`: layout, which a copier changes freely
                    continue
            elif text == ")" and parens and not parens.pop():
                continue
            elif text in (")", "]", "}") and out and out[-1].text == ",":
                out.pop()  # a trailing comma: layout too
            at_statement_start = False
            previous, previous_kind = tok.string, kind
            out.append(Token(text, file, tok.start[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def _number(text: str) -> str:
    """`1e-3`, `0.001` and `.001` alike; `0x10` and `16` alike."""
    try:
        value = float(int(text, 0)) if text.isalnum() and "e" not in text.lower() else float(text)
        return repr(value)
    except (ValueError, OverflowError):  # `1` followed by 400 zeros: itself
        return text


def _hash(texts: Iterable[str]) -> int:
    digest = hashlib.blake2b("\x1f".join(texts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def fingerprints(tokens: list[Token]) -> dict[int, set[tuple[str, int]]]:
    """Winnowed fingerprints: hash -> the (file, line)s its K tokens span."""
    grams = [
        (_hash(t.text for t in tokens[i : i + K]), i) for i in range(max(0, len(tokens) - K + 1))
    ]
    chosen: dict[int, set[tuple[str, int]]] = {}
    last = None
    for start in range(max(1, len(grams) - W + 1)):
        window = grams[start : start + W]
        if not window:
            break
        value, at = min(window, key=lambda g: (g[0], -g[1]))  # rightmost minimum
        if (value, at) != last:
            span = tokens[at : at + K]
            chosen.setdefault(value, set()).update((t.file, t.line) for t in span)
            last = (value, at)
    return chosen


def document(sid: str, files: Mapping[str, str], keep: frozenset[str]) -> Document:
    doc = Document(sid, dict(files))
    for name in sorted(files):
        doc.tokens += normalise(files[name], name, keep)
    doc.prints = fingerprints(doc.tokens)
    return doc


def compare(
    submissions: Mapping[str, Mapping[str, str]],
    template: Mapping[str, str] = {},  # noqa: B006 - read only
    keep: Iterable[str] = (),
) -> list[Pair]:
    """Every pair of submissions, most similar first. `submissions`: id -> {file: code};
    `template`: code every student had (its fingerprints count for no one); `keep`: names
    every submission must use (the contract's functions)."""
    keep = frozenset(keep)
    ignored = set(document("template", template, keep).prints) if template else set()
    docs = []
    for sid, files in sorted(submissions.items()):
        doc = document(sid, files, keep)
        doc.prints = {h: lines for h, lines in doc.prints.items() if h not in ignored}
        if len(doc.prints) >= MIN_FINGERPRINTS:
            docs.append(doc)
    pairs = []
    for a, b in itertools.combinations(docs, 2):
        shared = set(a.prints) & set(b.prints)
        if not shared:
            continue
        score = len(shared) / min(len(a.prints), len(b.prints))
        pairs.append(Pair(a.id, b.id, round(score, 4), len(shared), _lines(a, shared),
                          _lines(b, shared)))  # fmt: skip
    pairs.sort(key=lambda p: (-p.score, -p.shared, p.a, p.b))
    return pairs


def _lines(doc: Document, shared: set[int]) -> dict[str, tuple[int, ...]]:
    lines: dict[str, set[int]] = {}
    for h in shared:
        for file, line in doc.prints[h]:
            lines.setdefault(file, set()).add(line)
    return {f: tuple(sorted(v)) for f, v in sorted(lines.items())}


def code_of(folder: Path, limit: int = 1 << 20) -> dict[str, str]:
    """The .py files the sandbox ran for a student (OUT/.work/runs/<id>/code), read safely:
    regular files only, no links followed, at most `limit` bytes each."""
    import os
    import stat

    files = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return {}
    for path in entries:
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if path.suffix != ".py" or not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            continue
        try:
            files[path.name] = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return files


def class_similarity(out: Path, config, ids: Iterable[str]) -> dict:
    """Compare the graded class in OUT: the students' prepared code, with the stubs and the
    reference solution as the template. Returns what the similarity page shows."""
    from grader.authoring.assign import make_stub

    started = time.monotonic()
    template: dict[str, str] = {}
    for module in config.modules:
        path = config.root / f"{module}.py"
        if not path.is_file():
            continue
        template[f"reference/{module}.py"] = path.read_text(encoding="utf-8")
        stub = make_stub(path)
        if stub is not None:
            template[f"stub/{module}.py"] = stub.stub
    submissions = {sid: code_of(Path(out) / ".work" / "runs" / sid / "code") for sid in sorted(ids)}
    submissions = {sid: files for sid, files in submissions.items() if files}
    pairs = compare(submissions, template, config.functions)
    return {
        "pairs": pairs,
        "compared": len(submissions),
        "seconds": round(time.monotonic() - started, 3),
        "code": submissions,
    }


SHOWN_PAIRS = 10
"""Pairs shown side by side (the flagged ones, at most this many)."""
CONTEXT = 2
"""Lines shown around each matching line."""
MAX_LINES = 400


def page_context(result: dict, names: Mapping[str, str], title: str) -> dict:
    """What the similarity page shows: every pair ranked, the flagged ones side by side."""
    pairs = []
    for n, pair in enumerate(result["pairs"][:200]):
        flagged = pair.score >= FLAG
        shown = flagged and n < SHOWN_PAIRS
        pairs.append({
            "a_name": names.get(pair.a) or pair.a, "b_name": names.get(pair.b) or pair.b,
            "score": pair.score, "shared": pair.shared, "flagged": flagged, "shown": shown,
            "a_code": _excerpt(result["code"].get(pair.a, {}), pair.lines_a) if shown else [],
            "b_code": _excerpt(result["code"].get(pair.b, {}), pair.lines_b) if shown else [],
        })  # fmt: skip
    return {"pairs": pairs, "compared": result["compared"], "seconds": result["seconds"],
            "flag": FLAG, "title": title}  # fmt: skip


def _excerpt(files: Mapping[str, str], matches: Mapping[str, tuple[int, ...]]) -> list[dict]:
    shown = []
    for name, lines_matched in matches.items():
        lines = files.get(name, "").splitlines()
        wanted = set()
        for line in lines_matched:
            wanted |= set(range(max(1, line - CONTEXT), min(len(lines), line + CONTEXT) + 1))
        rows, last = [], 0
        for number in sorted(wanted)[:MAX_LINES]:
            if last and number > last + 1:
                rows.append({"gap": True})
            rows.append({"gap": False, "number": number, "text": lines[number - 1],
                         "match": number in lines_matched})  # fmt: skip
            last = number
        shown.append({"name": name, "lines": rows})
    return shown


def summary(result: dict) -> dict:
    """What OUT/similarity.json keeps (and the dashboard reads): the ranked pairs."""
    return {
        "compared": result["compared"], "seconds": result["seconds"], "flag": FLAG,
        "pairs": [{"a": p.a, "b": p.b, "score": p.score, "shared": p.shared}
                  for p in result["pairs"][:200]],
    }  # fmt: skip
