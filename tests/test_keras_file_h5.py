"""grader/check/keras_file.py reads the legacy HDF5 files that Keras 3's `model.save("x.h5")` writes
as well as `.keras` zips: compile settings, optimizer steps and weights, told apart by their
first bytes (never by the name), read with h5py and json only (never load_model)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

from grader.check.artifacts import ArtifactError  # noqa: E402
from grader.check.compile_settings import loss_setting, metric_settings, optimizer_setting  # noqa: E402
from grader.check.keras_file import file_format, read_keras_file, same_weights  # noqa: E402


def _model(compiled=True, **compile_args):
    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            keras.Input(shape=(12,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    if compiled:
        args = {"optimizer": "adam", "loss": "categorical_crossentropy", "metrics": ["accuracy"]}
        model.compile(**(args | compile_args))
    return model


def _data(rows=40):
    rng = np.random.default_rng(0)
    x = rng.random((rows, 12), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 3, rows), 3)
    return x, y


def _canonical(config):
    return (
        loss_setting(config.get("loss")),
        optimizer_setting(config.get("optimizer")),
        [(m.family, m.key) for m in metric_settings(config.get("metrics"))],
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained 2 epochs of 5 batches (10 steps), saved in both formats."""
    folder = tmp_path_factory.mktemp("h5")
    model = _model()
    x, y = _data()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(folder / "m.h5")
    model.save(folder / "m.keras")
    return folder, model


COMPILES = {
    "strings": {},
    "rmsprop, acc": {"optimizer": "rmsprop", "metrics": ["acc"]},
    "objects": {
        "optimizer": "sgd",
        "loss": keras.losses.CategoricalCrossentropy(from_logits=True),
        "metrics": [keras.metrics.CategoricalAccuracy()],
    },
    "adam object, rate": {"optimizer": keras.optimizers.Adam(learning_rate=0.01)},
    "function loss": {"loss": keras.losses.categorical_crossentropy, "metrics": None},
    "sparse": {
        "loss": "sparse_categorical_crossentropy",
        "metrics": ["sparse_categorical_accuracy"],
    },
}


@pytest.mark.parametrize("name", list(COMPILES))
def test_compile_settings_read_from_h5_are_the_models(tmp_path, name):
    model = _model(**COMPILES[name])
    # Before saving: Keras 3's HDF5 writer pops "optimizer" out of the model's own compile
    # config (keras/src/legacy/saving/saving_utils.py, model_metadata), so afterwards
    # get_compile_config() and any .keras file saved later have no optimizer.
    expected = _canonical(model.get_compile_config())
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    h5 = read_keras_file(tmp_path, "m.h5")
    zipped = read_keras_file(tmp_path, "m.keras")
    assert (h5.format, h5.suffix, zipped.format, zipped.suffix) == ("h5", ".h5", "keras", ".keras")
    assert _canonical(h5.compile_config) == expected
    assert _canonical(zipped.compile_config) == expected
    assert h5.config["class_name"] == "Sequential"
    assert h5.config["keras_version"] == keras.__version__


def test_an_uncompiled_model_has_no_compile_config(tmp_path):
    model = _model(compiled=False)
    model.save(tmp_path / "u.h5")
    saved = read_keras_file(tmp_path, "u.h5")
    assert saved.compile_config is None
    assert saved.iterations() is None
    assert same_weights(saved.layer_arrays(), model.get_weights())


def test_iterations_after_fit(trained):
    folder, model = trained
    h5 = read_keras_file(folder, "m.h5")
    assert h5.iterations() == int(model.optimizer.iterations) == 10
    assert read_keras_file(folder, "m.keras").iterations() == 10


def test_an_untrained_compiled_model_took_no_step(tmp_path):
    _model().save(tmp_path / "c.h5")
    assert read_keras_file(tmp_path, "c.h5").iterations() == 0


def test_iterations_under_mixed_precision_are_the_inner_optimizers(tmp_path):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = keras.Sequential(
            [
                keras.Input(shape=(12,)),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dense(3),
                keras.layers.Activation("softmax", dtype="float32"),
            ]
        )
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        x, y = _data(24)
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        model.save(tmp_path / "mp.h5")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    saved = read_keras_file(tmp_path, "mp.h5")
    assert saved.iterations() == 3
    assert optimizer_setting(saved.compile_config["optimizer"])[0] == "Adam"


def test_layer_arrays_are_the_models_weights_and_nothing_else(trained):
    folder, model = trained
    arrays = read_keras_file(folder, "m.h5").layer_arrays()
    weights = model.get_weights()
    assert len(arrays) == len(weights)
    assert same_weights(arrays, weights, tolerance=0)
    other = _model()  # same shapes, other weights: not the same
    assert not same_weights(arrays, other.get_weights())


def test_the_format_comes_from_the_bytes_not_the_name(trained, tmp_path):
    folder, model = trained
    shutil.copy(folder / "m.keras", tmp_path / "renamed.h5")
    shutil.copy(folder / "m.h5", tmp_path / "renamed.keras")  # as the runner keeps it
    zipped = read_keras_file(tmp_path, "renamed.h5")
    h5 = read_keras_file(tmp_path, "renamed.keras")
    assert (zipped.format, h5.format) == ("keras", "h5")
    for saved in (zipped, h5):
        assert saved.iterations() == 10
        assert same_weights(saved.layer_arrays(), model.get_weights())


def test_file_format_sniffing():
    assert file_format(b"PK\x03\x04rest") == "keras"
    assert file_format(b"\x89HDF\r\n\x1a\n") == "h5"
    assert file_format(b"\0" * 512 + b"\x89HDF\r\n\x1a\n") == "h5"  # after a user block
    assert file_format(b"\0" * 100 + b"\x89HDF\r\n\x1a\n") is None
    assert file_format(b"") is None


def test_a_truncated_h5_file_is_a_clear_error(trained, tmp_path):
    folder, _ = trained
    data = (folder / "m.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(ArtifactError, match="not a readable HDF5 model file .truncated"):
        read_keras_file(tmp_path, "cut.h5")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", r"neither a .keras zip nor an HDF5 .*\(it is empty\)"),
        (b"garbage, not a model" * 10, r"neither a .keras zip nor an HDF5 .*b'garbage,'"),
        (b"\x89HDF\r\n\x1a\n" + b"\0" * 200, "not a readable HDF5 model file"),
        (b"PK\x03\x04" + b"\0" * 200, "not a readable Keras model file"),
    ],
)
def test_garbage_is_a_clear_error(tmp_path, content, message):
    (tmp_path / "x.h5").write_bytes(content)
    with pytest.raises(ArtifactError, match=message):
        read_keras_file(tmp_path, "x.h5")


def test_weights_only_h5_is_not_a_whole_model(tmp_path):
    _model().save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ArtifactError, match="not a whole Keras model"):
        read_keras_file(tmp_path, "w.weights.h5")


def test_arrays_stored_outside_the_file_are_refused(trained, tmp_path):
    folder, _ = trained
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(4, dtype=np.float32).tobytes())
    target = tmp_path / "ext.h5"
    shutil.copy(folder / "m.h5", target)
    with h5py.File(target, "a") as f:
        f["model_weights"].create_dataset(
            "stolen", shape=(4,), dtype="f4", external=[(str(secret), 0, 16)]
        )
    with pytest.raises(ArtifactError, match="stored outside the file"):
        read_keras_file(tmp_path, "ext.h5").layer_arrays()


def test_links_are_never_followed(trained, tmp_path):
    folder, model = trained
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["big"] = np.zeros(5, dtype=np.float32)
    target = tmp_path / "links.h5"
    shutil.copy(folder / "m.h5", target)
    with h5py.File(target, "a") as f:
        f["model_weights/elsewhere"] = h5py.ExternalLink(str(other), "/big")
        f["model_weights/again"] = h5py.SoftLink("/optimizer_weights")
    saved = read_keras_file(tmp_path, "links.h5")
    arrays = saved.layer_arrays()
    assert len(arrays) == len(model.get_weights())
    assert same_weights(arrays, model.get_weights())
    assert saved.iterations() == 10


def test_a_huge_config_attribute_is_refused(trained, tmp_path, monkeypatch):
    folder, _ = trained
    monkeypatch.setattr("grader.check.keras_file.MAX_CONFIG", 100)
    shutil.copy(folder / "m.h5", tmp_path / "m.h5")
    with pytest.raises(ArtifactError, match="model_config is larger than 0 MiB"):
        read_keras_file(tmp_path, "m.h5")
