"""Writes a 1 GB file into the job's work directory (the current directory)."""


def flatten_and_scale(images):
    chunk = b"\0" * (1 << 20)
    with open("big.bin", "wb") as f:
        for _ in range(1024):
            f.write(chunk)
