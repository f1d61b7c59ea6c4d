"""Hostile: looks everywhere the sandbox shows for the reference's models and preprocessed
images, and hands them back as its own. Finds nothing (issue 12, item 3)."""

import os

import keras
import numpy as np

SEARCH = ["/sandbox", "/job", "/tmp", "/submission", os.getcwd()]


def _found(kind):
    hits = []
    for root in SEARCH:
        for dirpath, _, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                if "fallback" in name or "reference" in name:
                    hits.append(path)
                if name.endswith(".npz"):
                    try:
                        with np.load(path) as data:
                            hits += [f"{path}:{k}" for k in data.files
                                     if k.startswith("fb_") and k != "fb_onehot_train"]
                    except Exception:
                        pass
    return hits


def build_mlp(input_dim=784, num_classes=10):
    hits = _found("mlp")
    for path in hits:
        if path.endswith("fallback_mlp.json"):
            import json
            spec = json.load(open(path))
            model = keras.saving.deserialize_keras_object(spec["config"])
            model.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                          metrics=["accuracy"])
            return model
    raise RuntimeError(f"no reference model to steal; found only: {hits}")


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    raise RuntimeError(f"no reference model to steal; found only: {_found('cnn')}")
