"""Prints 100 MB at import."""
import sys

LINE = "x" * 1023 + "\n"
for _ in range(100 * 1024):
    sys.stdout.write(LINE)
