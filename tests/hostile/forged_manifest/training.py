"""Hostile: ignores the budget, saves nothing, and rewrites the runner's in-memory manifest
(found through the garbage collector) so that every fact it reports looks right."""

import gc

import keras

STEPS = {"mlp": 21, "cnn": 10}  # what the quick budget's reference takes


def _forge():
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "calls" in obj and "models" in obj and "fallbacks" in obj:
            for kind, facts in obj["models"].items():
                facts["compile"] = {
                    "optimizer": "RMSprop", "compiled": True, "loss": "categorical_crossentropy",
                    "metrics": ["accuracy"],
                    "compile_config": {"optimizer": "rmsprop", "loss": "categorical_crossentropy",
                                       "metrics": ["accuracy"]},
                }
                facts["iterations"] = STEPS[kind]
            for name, call in obj["calls"].items():
                if name.startswith("save:"):
                    call["exists"] = True


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    history = model.fit(x, y, epochs=epochs * 3, batch_size=batch_size // 2, verbose=0)
    _forge()
    return history


def evaluate(model, x, y):
    _forge()
    return float(model.evaluate(x, y, verbose=0)), 0.0


def save(model, path):
    _forge()  # and writes nothing


def load(path):
    _forge()
    return keras.models.load_model(path)
