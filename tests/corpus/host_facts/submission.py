"""Looks for host facts from inside the sandbox: the command lines of every process it can see,
its own mounts and cgroups, whether the grader package can be imported, and any file of the
assignment's data (by name, or by size and content) anywhere it can read.

DATA is empty here: tests/test_adversarial.py fills in (name, size, sha256) of each file of
reference/mnist/data on this machine.
"""

import hashlib
import importlib.machinery
import os
import sys

DATA = []


def show(tag, path):
    try:
        with open(path, "rb") as f:
            text = f.read(1 << 20).replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError as exc:
        print(tag, path, type(exc).__name__)
        return
    for line in text.splitlines() or [""]:
        print(tag, path, line)


for entry in sorted(os.listdir("/proc")):
    if entry.isdigit() or entry == "self":
        show("CMDLINE", f"/proc/{entry}/cmdline")
show("CMDLINE", "/proc/1/cmdline")  # the init: hidden (another user's process), or neutral
show("MOUNTINFO", "/proc/self/mountinfo")
show("CGROUP", "/proc/self/cgroup")
show("ENVIRON", "/proc/self/environ")
print("EXECUTABLE", sys.executable, os.path.realpath("/proc/self/exe"))
print("SYSPATH", sys.path)
spec = importlib.machinery.PathFinder.find_spec("grader")
print("FIND grader", spec.origin if spec else None)
spec = importlib.machinery.PathFinder.find_spec("keras")
print("FIND keras", "found" if spec else None)

sizes = {size: (name, digest) for name, size, digest in DATA}
names = {name for name, _, _ in DATA if not name.endswith(".md")}  # README.md: everywhere
stack, seen = ["/"], 0
while stack:
    top = stack.pop()
    try:
        entries = list(os.scandir(top))
    except OSError:
        continue
    for entry in entries:
        if entry.path in ("/proc", "/sys", "/dev"):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            seen += 1
            if entry.name in names:
                print("FOUND name", entry.path)
            size = entry.stat(follow_symlinks=False).st_size
            if size in sizes:
                with open(entry.path, "rb") as f:
                    if hashlib.sha256(f.read()).hexdigest() == sizes[size][1]:
                        print("FOUND content", entry.path, sizes[size][0])
        except OSError:
            continue
print("SCANNED", seen)
