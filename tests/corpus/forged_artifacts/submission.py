"""Forges the runner's output directory at import, then leaves before the runner can fix it.

Every forged artifact aims at the trusted reader: paths outside the output directory,
a symlink, a FIFO, a pickle, a bare .npy, a decompression bomb, JSON nested too deep and
a model config hiding a Lambda layer.
"""
import io
import json
import os
import zipfile

import numpy as np

OUT = "/job/out"
os.makedirs(f"{OUT}/arrays", exist_ok=True)
os.makedirs(f"{OUT}/models", exist_ok=True)
np.savez(f"{OUT}/arrays/pickled.npz", value=np.array([{"a": 1}], dtype=object))
np.save(f"{OUT}/arrays/plain.npy", np.ones(3))
os.rename(f"{OUT}/arrays/plain.npy", f"{OUT}/arrays/plain.npz")
os.symlink("/sandbox/inputs.npz", f"{OUT}/arrays/link.npz")
os.mkfifo(f"{OUT}/arrays/fifo.npz")
os.symlink("/etc", f"{OUT}/etc")
# 600 MiB of zeros in a 0.6 MB .npz: over the reader's 512 MiB cap once inflated.
header = io.BytesIO()
np.lib.format.write_array_header_1_0(
    header, {"descr": "|u1", "fortran_order": False, "shape": (600 << 20,)}
)
with zipfile.ZipFile(f"{OUT}/arrays/bomb.npz", "w", zipfile.ZIP_DEFLATED) as zf:
    with zf.open("value.npy", "w", force_zip64=True) as member:
        member.write(header.getvalue())
        zeros = bytes(1 << 20)
        for _ in range(600):
            member.write(zeros)
with open(f"{OUT}/models/deep.json", "w") as f:
    f.write("[" * 100_000)
lambda_model = {
    "module": "keras", "class_name": "Sequential", "registered_name": None,
    "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
         "config": {"function": {"class_name": "__lambda__", "config": {"code": "eA=="}}}},
    ]},
}
with open(f"{OUT}/models/evil.json", "w") as f:
    json.dump(lambda_model, f)
calls = {
    "flatten_and_scale": {"status": "ok", "result": {"file": "../../inputs.npz"}},
    "flatten_and_scale:test": {"status": "ok", "result": {"file": "/etc/passwd"}},
    "reshape_for_cnn": {"status": "ok", "result": {"file": "arrays/link.npz"}},
    "reshape_for_cnn:test": {"status": "ok", "result": {"file": "arrays/fifo.npz"}},
    "one_hot": {"status": "ok", "result": {"file": "arrays/pickled.npz"}},
    "one_hot:train": {"status": "ok", "result": {"file": "arrays/plain.npz"}},
    "predict:mlp": {"status": "ok", "result": {"file": "etc/passwd"}},
    "predict:cnn": {"status": "ok", "result": {"file": "arrays/bomb.npz"}},
}
models = {
    "mlp": {
        "untrained": {"config": "models/evil.json", "weights": "arrays/plain.npz"},
        "trained": {"config": "models/deep.json", "weights": "arrays/plain.npz"},
    },
    "cnn": {
        "untrained": {
            "config": "../../_reference/job/out/models/cnn_untrained.json",
            "weights": "../../_reference/job/out/models/cnn_untrained.npz",
        },
    },
}
manifest = {"runner": 1, "finished": True, "current": None, "versions": {},
            "calls": calls, "fallbacks": {}, "models": models}
with open(f"{OUT}/manifest.json", "w") as f:
    json.dump(manifest, f)
os._exit(0)
