"""The bounded walker of shared directories (tests/treewalk.py) against what other programs
leave there: a tree deeper than Python's recursion limit, unreadable folders, links (to
folders, to themselves, dangling) and entries that vanish mid-walk."""

from __future__ import annotations

import os
import sys

from treewalk import iter_files, remove_deep_chain, remove_tree, scan


def _deep(root, levels: int) -> str:
    """A chain of `levels` nested folders, made without recursion (as another program might)."""
    path = os.fspath(root)
    fd = os.open(path, os.O_RDONLY)
    try:
        for _ in range(levels):  # relative mkdir/open: no path grows past PATH_MAX
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
        with open(os.open("leaf", os.O_WRONLY | os.O_CREAT, dir_fd=fd), "w") as f:
            f.write("deep")
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    return path


def test_tree_deeper_than_the_recursion_limit(tmp_path):
    """Does a tree 1,500 levels deep stop the walk at its depth limit, with the reason, where
    os.walk dies with RecursionError?"""
    levels = sys.getrecursionlimit() + 500
    _deep(tmp_path, levels)
    (tmp_path / "PWNED").write_text("x")
    walked = scan(tmp_path, max_depth=50)
    names = {rel for _, rel, _ in walked.entries}
    assert "PWNED" in names
    assert len(walked.entries) == 51  # PWNED plus the first 50 levels
    assert len(walked.incomplete) == 1 and "not entered below depth 50" in walked.incomplete[0]
    unlimited = scan(tmp_path, max_depth=10_000)
    assert unlimited.incomplete == []
    assert any(rel.endswith("leaf") for _, rel, _ in unlimited.entries)
    remove_deep_chain(tmp_path)  # pytest's own clean-up of old tmp dirs would recurse
    assert sorted(p.name for p in tmp_path.iterdir()) == ["PWNED"]


def test_links_are_listed_never_followed(tmp_path):
    """Are symlinks (to a folder, to themselves, dangling) listed as links and never entered?"""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    root = tmp_path / "root"
    root.mkdir()
    (root / "to_dir").symlink_to(outside)
    (root / "loop").symlink_to(root / "loop")
    (root / "dangling").symlink_to(tmp_path / "nothing")
    walked = scan(root)
    assert sorted(rel for _, rel, _ in walked.entries) == ["dangling", "loop", "to_dir"]
    assert walked.incomplete == []


def test_unreadable_and_vanishing_entries(tmp_path, monkeypatch):
    """Does a folder that cannot be listed count as unreadable, and one that vanishes between
    listing and entering leave the walk running?"""
    locked = tmp_path / "locked"
    locked.mkdir()
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "f").write_text("f")
    real_scandir = os.scandir

    def flaky(path):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        if os.fspath(path).endswith("gone"):
            raise FileNotFoundError(2, "vanished")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", flaky)
    walked = scan(tmp_path)
    assert walked.unreadable == 1 and walked.incomplete == []
    assert sorted(rel for _, rel, _ in walked.entries) == ["gone", "locked"]


def test_entry_and_time_limits(tmp_path):
    """Do the entry and time limits stop the walk with a reason instead of running on?"""
    for i in range(30):
        (tmp_path / f"f{i}").write_text("")
    walked = scan(tmp_path, max_entries=10)
    assert len(walked.entries) == 10 and "stopped after 10 entries" in walked.incomplete[0]
    walked = scan(tmp_path, max_seconds=-1)
    assert "stopped after" in walked.incomplete[0]
    assert len(list(iter_files(tmp_path))) == 30


def test_remove_tree_of_any_depth_and_shape(tmp_path):
    """Does remove_tree delete a tree deeper than the recursion limit, with files and side
    branches at every level and a link it must not follow, where shutil.rmtree recurses?"""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("k")
    root = tmp_path / "root"
    root.mkdir()
    _deep(root, sys.getrecursionlimit() + 200)
    (root / "side").mkdir()
    (root / "side" / "f").write_text("f")
    (root / "link").symlink_to(outside)
    remove_tree(root)
    assert not root.exists() and (outside / "keep").read_text() == "k"
