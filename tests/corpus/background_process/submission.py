"""Leaves a process behind that holds the runner's stdout and stderr open."""
import subprocess

subprocess.Popen(["sleep", "1000"])
