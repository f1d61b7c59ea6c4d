"""Builds a chain of 1,500 nested folders in the output directory (deeper than Python's
recursion limit: a recursive copy would die with RecursionError)."""

import os

fd = os.open("/job/out", os.O_RDONLY | os.O_DIRECTORY)
for _ in range(1500):
    os.mkdir("d", dir_fd=fd)
    child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = child
os.close(fd)
