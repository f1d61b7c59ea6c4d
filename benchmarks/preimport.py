"""What a pre-imported interpreter would save, and what it would cost in safety (issue 18, 4).

Every sandboxed run starts a fresh Python that imports TensorFlow and Keras. A "zygote" (one
interpreter per worker slot that has imported them, forking a child per student) would save
that import. This measures, on this machine, in fresh processes (medians of `--repeats`):

1. `fresh`: a new interpreter's `import tensorflow, keras` (what each sandbox pays now), wall
   and CPU;
2. `fork`: from an interpreter that has imported them, `os.fork()` until the child can run
   Keras (a Dense layer called once), wall: what a run would pay with a zygote;
3. the threads an interpreter has after the import (a process that forks with more than one
   thread may leave locks held in the child: POSIX allows only async-signal-safe calls there),
   and whether a forked child trains bit-identically to a fresh process (the same tiny model,
   seeded, one epoch: equal digests).

    .venv/bin/python benchmarks/preimport.py --repeats 5 [--json FILE]

Prints a table; the decision and its reasons are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

IMPORT = "import tensorflow, keras"

TRAIN = """
import hashlib, os
import numpy as np
import keras
os.environ["PYTHONHASHSEED"] = "0"
keras.utils.set_random_seed(0)
import tensorflow as tf
tf.config.experimental.enable_op_determinism()
x = np.random.default_rng(0).random((256, 32), dtype=np.float32)
y = keras.utils.to_categorical(np.arange(256) % 10, 10)
model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
model.compile("rmsprop", "categorical_crossentropy")
model.fit(x, y, epochs=1, batch_size=32, verbose=0)
digest = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()[:16]
"""

FRESH = f"""
import time, resource, json
t = time.perf_counter()
{IMPORT}
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"wall": wall, "cpu": ru.ru_utime + ru.ru_stime}}))
"""

ZYGOTE = f"""
import json, os, sys, time
{IMPORT}
threads = len(os.listdir("/proc/self/task"))
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    import keras, numpy as np
    keras.layers.Dense(4)(np.zeros((1, 4), dtype="float32"))
    with open(sys.argv[1], "w") as f:
        f.write(str(time.perf_counter() - t))
    os._exit(0)
os.waitpid(pid, 0)
child = float(open(sys.argv[1]).read())
print(json.dumps({{"threads_after_import": threads, "fork_to_keras": child}}))
"""

FORKED_TRAIN = f"""
import json, os, sys
{IMPORT}
pid = os.fork()
if pid == 0:
{chr(10).join("    " + line for line in TRAIN.strip().splitlines())}
    with open(sys.argv[1], "w") as f:
        f.write(digest)
    os._exit(0)
os.waitpid(pid, 0)
print(json.dumps({{"digest": open(sys.argv[1]).read()}}))
"""

FRESH_TRAIN = TRAIN + "\nimport json\nprint(json.dumps({'digest': digest}))\n"


def run(code: str, *args: str) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=600, check=True)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    facts["process_wall"] = time.perf_counter() - started
    facts["process_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return facts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    scratch = f"/tmp/preimport-{os.getpid()}"
    fresh, forked = [], []
    for _ in range(args.repeats):  # interleaved: the machine's other load hits both alike
        fresh.append(run(FRESH))
        forked.append(run(ZYGOTE, scratch))
    digests = {"fresh": run(FRESH_TRAIN)["digest"], "forked": run(FORKED_TRAIN, scratch)["digest"]}
    os.unlink(scratch)
    med = statistics.median
    figures = {
        "repeats": args.repeats,
        "fresh_import_wall": round(med(f["wall"] for f in fresh), 3),
        "fresh_import_cpu": round(med(f["cpu"] for f in fresh), 3),
        "fresh_process_wall": round(med(f["process_wall"] for f in fresh), 3),
        "fork_to_keras_wall": round(med(f["fork_to_keras"] for f in forked), 4),
        "threads_after_import": max(f["threads_after_import"] for f in forked),
        "digests": digests,
        "forked_trains_like_fresh": digests["fresh"] == digests["forked"],
    }
    figures["saved_per_run_wall"] = round(
        figures["fresh_process_wall"] - figures["fork_to_keras_wall"], 3
    )
    for key, value in figures.items():
        print(f"{key:28} {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
