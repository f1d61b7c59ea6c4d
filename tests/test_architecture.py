"""Do real Keras models, however written, become the same canonical layer sequences?"""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from grader.check.architecture import (  # noqa: E402
    active_steps,
    canonical_layers,
    compare,
    input_shape,
    output_activation,
)
from grader.report.results import LayerInfo, LayerRow  # noqa: E402

SEED_000_MLP = (
    ("Dense(512, relu)", "(512,)", 784 * 512 + 512),
    ("Dense(10, softmax)", "(10,)", 512 * 10 + 10),
)


def steps(model) -> tuple[tuple[str, str, int], ...]:
    """The canonical steps as (description, output shape, parameters)."""
    return tuple((s.kind, s.output_shape, s.params) for s in canonical_layers(model))


def mlp_merged():
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            layers.Dense(512, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


def mlp_split():
    """Seed 003's style: each Dense followed by an Activation layer."""
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            layers.Dense(512),
            layers.Activation("relu"),
            layers.Dense(10),
            layers.Activation("softmax"),
        ]
    )


def mlp_activation_layers():
    return keras.Sequential(
        [keras.Input(shape=(784,)), layers.Dense(512), layers.ReLU(), layers.Dense(10),
         layers.Softmax()]
    )  # fmt: skip


def mlp_functional():
    inputs = keras.Input(shape=(784,))
    hidden = layers.Dense(512, activation="relu")(inputs)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(hidden))


def mlp_nested_sequential():
    inner = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(512, activation="relu")])
    return keras.Sequential([keras.Input(shape=(784,)), inner, layers.Dense(10, "softmax")])


def mlp_nested_unbuilt_sequential():
    inner = keras.Sequential([layers.Dense(512), layers.Activation("relu")])
    return keras.Sequential([keras.Input(shape=(784,)), inner, layers.Dense(10, "softmax")])


def mlp_nested_functional():
    inputs = keras.Input(shape=(784,))
    inner = keras.Model(inputs, layers.Dense(512, activation="relu")(inputs))
    outer_inputs = keras.Input(shape=(784,))
    outputs = layers.Dense(10, activation="softmax")(inner(outer_inputs))
    return keras.Model(outer_inputs, outputs)


SPELLINGS = {
    "dense-with-activation": mlp_merged,
    "dense-then-activation-layer": mlp_split,
    "relu-and-softmax-layers": mlp_activation_layers,
    "functional": mlp_functional,
    "nested-sequential": mlp_nested_sequential,
    "nested-unbuilt-sequential": mlp_nested_unbuilt_sequential,
    "nested-functional": mlp_nested_functional,
}


@pytest.fixture(autouse=True)
def fresh_session():
    # Fresh layer names for every model; skipping the garbage collection saves ~0.4 s a test.
    keras.backend.clear_session(free_memory=False)


@pytest.mark.parametrize("build", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_every_spelling_of_seed_000_mlp_is_canonical(build):
    """Does each way of writing seed 000's MLP give Dense(512, relu) -> Dense(10, softmax)?"""
    model = build()
    assert steps(model) == SEED_000_MLP
    assert [(s.layer_type, s.activation) for s in canonical_layers(model)] == [
        ("Dense", "relu"),
        ("Dense", "softmax"),
    ]
    assert input_shape(model) == "(784,)"
    assert output_activation(model) == "softmax"


@pytest.mark.parametrize("build", list(SPELLINGS.values())[1:], ids=list(SPELLINGS)[1:])
def test_spellings_compare_equal_row_by_row(build):
    """Does compare() find no divergence between two spellings of the same network?"""
    rows = compare(canonical_layers(mlp_merged()), canonical_layers(build()))
    assert all(row.matches for row in rows)
    assert not any(row.first_divergence for row in rows)


def test_activation_after_an_activation_stays_a_step():
    """Is an Activation after a layer that already has one kept as a separate step?"""
    model = keras.Sequential(
        [keras.Input(shape=(784,)), layers.Dense(10, activation="relu"),
         layers.Activation("softmax")]
    )  # fmt: skip
    assert steps(model) == (
        ("Dense(10, relu)", "(10,)", 7850),
        ("Activation(softmax)", "(10,)", 0),
    )
    assert [(s.layer_type, s.activation) for s in canonical_layers(model)] == [
        ("Dense", "relu"),
        ("Activation", "softmax"),
    ]
    assert output_activation(model) == "softmax"


def test_conv_padding_and_strides_are_described():
    """Are Conv2D padding and strides (and pooling strides) part of the description?"""
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu", padding="same"),
            layers.Conv2D(16, 3, strides=2),
            layers.Conv2D(8, (5, 3), strides=(2, 1), padding="same"),
            layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.MaxPooling2D(pool_size=2, strides=1),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(10, activation="softmax"),
        ]
    )
    assert steps(model) == (
        ("Conv2D(32, 3x3, same, relu)", "(28, 28, 32)", 3 * 3 * 32 + 32),
        ("Conv2D(16, 3x3, strides 2x2)", "(13, 13, 16)", 3 * 3 * 32 * 16 + 16),
        ("Conv2D(8, 5x3, same, strides 2x1, relu)", "(7, 13, 8)", 5 * 3 * 16 * 8 + 8),
        ("MaxPooling2D(2x2)", "(3, 6, 8)", 0),
        ("MaxPooling2D(2x2, strides 1x1)", "(2, 5, 8)", 0),
        ("Flatten", "(80,)", 0),
        ("Dropout(0.25)", "(80,)", 0),
        ("Dense(10, softmax)", "(10,)", 80 * 10 + 10),
    )
    assert input_shape(model) == "(28, 28, 1)"


def test_padding_changes_the_description_and_shapes():
    """Does a CNN without padding='same' differ from the reference in kind and output shape?"""

    def cnn(padding):
        return keras.Sequential(
            [keras.Input(shape=(28, 28, 1)),
             layers.Conv2D(32, 3, activation="relu", padding=padding),
             layers.MaxPooling2D(2)]
        )  # fmt: skip

    expected, actual = canonical_layers(cnn("same")), canonical_layers(cnn("valid"))
    assert [layer.kind for layer in actual] == ["Conv2D(32, 3x3, relu)", "MaxPooling2D(2x2)"]
    assert [layer.output_shape for layer in expected] == ["(28, 28, 32)", "(14, 14, 32)"]
    assert [layer.output_shape for layer in actual] == ["(26, 26, 32)", "(13, 13, 32)"]
    rows = compare(expected, actual, ("params",))
    assert all(row.matches for row in rows)  # padding changes no parameter count


A = LayerInfo("Dense(512, relu)", "(512,)", 401920)
B = LayerInfo("Dense(10, softmax)", "(10,)", 5130)
B_256 = LayerInfo("Dense(10, softmax)", "(10,)", 2570)
C = LayerInfo("Dense(256, relu)", "(256,)", 200960)


@pytest.mark.parametrize(
    ("expected", "actual", "attributes", "rows"),
    [
        ((A, B), (A, B), None, [(A, A, True, False), (B, B, True, False)]),
        ((A, B), (C, B_256), None, [(A, C, False, True), (B, B_256, False, False)]),
        ((A, B), (A, B_256), ("kind",), [(A, A, True, False), (B, B_256, True, False)]),
        ((A, B), (A, B_256), None, [(A, A, True, False), (B, B_256, False, True)]),
        ((A, B), (A,), None, [(A, A, True, False), (B, None, False, True)]),
        ((A,), (A, B), None, [(A, A, True, False), (None, B, False, True)]),
        ((A, C, B), (A, B), ("kind",),
         [(A, A, True, False), (C, None, False, True), (B, B, True, False)]),
        ((), (), None, []),
    ],
    ids=["equal", "first-row", "kind-only", "params-differ", "student-shorter",
         "student-longer", "missing-middle", "empty"],
)  # fmt: skip
def test_compare_marks_only_the_first_divergence(expected, actual, attributes, rows):
    """Does compare() align the layers (a missing one is one row, in place) and mark only the
    first mismatching row?"""
    args = (attributes,) if attributes else ()
    assert compare(expected, actual, *args) == tuple(
        LayerRow(i, exp, act, matches, first)
        for i, (exp, act, matches, first) in enumerate(rows, start=1)
    )


def test_first_divergence_on_real_models():
    """Is the first divergence of a 256-unit student MLP at layer 1, with both layers shown?"""
    student = keras.Sequential(
        [keras.Input(shape=(784,)), layers.Dense(256, activation="relu"),
         layers.Dense(10, activation="softmax")]
    )  # fmt: skip
    rows = compare(canonical_layers(mlp_merged()), canonical_layers(student))
    assert [row.first_divergence for row in rows] == [True, False]
    assert (rows[0].actual.kind, rows[0].actual.params) == ("Dense(256, relu)", 784 * 256 + 256)
    assert rows[1].actual.params == 256 * 10 + 10 and not rows[1].matches
    by_type = compare(
        canonical_layers(mlp_merged()), canonical_layers(student), ("layer_type", "activation")
    )
    assert all(row.matches for row in by_type)  # same types and activations, other sizes


@pytest.mark.parametrize(
    ("last_layers", "activation"),
    [
        (lambda: [layers.Dense(10, activation="softmax")], "softmax"),
        (lambda: [layers.Dense(10), layers.Activation("softmax")], "softmax"),
        (lambda: [layers.Dense(10), layers.Softmax()], "softmax"),
        (lambda: [layers.Dense(10, activation="sigmoid")], "sigmoid"),
        (lambda: [layers.Dense(10)], None),
        (lambda: [layers.Dense(10, activation="linear")], None),
        (lambda: [layers.Dense(10, activation="softmax"), layers.Dropout(0.5)], "softmax"),
        (lambda: [layers.Dense(10, activation="softmax"), layers.Reshape((10,))], "softmax"),
    ],
    ids=["dense-softmax", "activation-layer", "softmax-layer", "sigmoid", "linear-default",
         "linear-explicit", "trailing-dropout", "trailing-reshape"],
)  # fmt: skip
def test_output_activation(last_layers, activation):
    """Is the activation the model ends with found, looking through Dropout and Reshape?"""
    model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(32), *last_layers()])
    assert output_activation(model) == activation


@pytest.mark.parametrize(
    ("shape", "text"), [((784,), "(784,)"), ((28, 28, 1), "(28, 28, 1)"), ((28, 28), "(28, 28)")]
)
def test_input_shape(shape, text):
    """Is the input shape given without the batch axis, for Sequential and functional models?"""
    sequential = keras.Sequential([keras.Input(shape=shape), layers.Flatten(), layers.Dense(2)])
    inputs = keras.Input(shape=shape)
    functional = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(inputs)))
    assert input_shape(sequential) == input_shape(functional) == text


def test_input_dim_keyword_gives_the_same_input_shape():
    """Does a model built the Keras 2 way (input_dim= on the first layer) have input (784,)?"""
    with pytest.warns(UserWarning, match="input_dim"):
        model = keras.Sequential(
            [layers.Dense(512, activation="relu", input_dim=784), layers.Dense(10, "softmax")]
        )
    assert input_shape(model) == "(784,)"
    assert steps(model) == SEED_000_MLP


def test_unbuilt_model_has_unknown_input_shape():
    """Is a model never built (no input) reported as input shape '?' rather than crashing?"""
    model = keras.Sequential([layers.Dense(10)])
    assert input_shape(model) == "?"


# ---- alignment: one extra or missing layer is reported once, in place (issue 11) ----------
def mlp_with(*middle):
    return keras.Sequential(
        [keras.Input(shape=(784,)), layers.Dense(512, activation="relu"), *middle,
         layers.Dense(10, activation="softmax")]
    )  # fmt: skip


def test_an_extra_dropout_is_one_unpaired_row():
    """Is a Dropout between the MLP's layers one extra row, with every other row paired?"""
    rows = compare(canonical_layers(mlp_merged()), canonical_layers(mlp_with(layers.Dropout(0.2))))
    assert [(r.expected is None, r.actual is None, r.matches) for r in rows] == [
        (False, False, True), (True, False, False), (False, False, True),
    ]  # fmt: skip
    assert [r.first_divergence for r in rows] == [False, True, False]


def test_active_steps_leave_out_layers_that_compute_nothing_new():
    """Do Dropout, GaussianNoise and ActivityRegularization drop out of the shape/parameter
    comparison, while Flatten, pooling and a Dense stay?"""
    student = canonical_layers(
        mlp_with(layers.Dropout(0.2), layers.GaussianNoise(0.1), layers.ActivityRegularization())
    )
    assert len(student) == 5
    assert [s.kind for s in active_steps(student)] == ["Dense(512, relu)", "Dense(10, softmax)"]
    expected = canonical_layers(mlp_merged())
    assert all(r.matches for r in compare(expected, active_steps(student)))


def test_a_missing_layer_in_the_middle_is_one_row():
    """Is a CNN missing its third Conv2D aligned with one missing row, the rest paired?"""

    def cnn(third):
        return keras.Sequential(
            [keras.Input(shape=(28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
             layers.MaxPooling2D(2), *third, layers.Flatten(),
             layers.Dense(10, activation="softmax")]
        )  # fmt: skip

    rows = compare(
        canonical_layers(cnn([layers.Conv2D(64, 3, activation="relu")])),
        canonical_layers(cnn([])),
        ("layer_type", "activation"),
    )
    assert [(r.expected is not None, r.actual is not None) for r in rows] == [
        (True, True), (True, True), (True, False), (True, True), (True, True),
    ]  # fmt: skip


def test_an_extra_dense_pairs_the_identical_layers_first():
    """Is an extra Dense(128, relu) between Dense(512, relu) and the output the unpaired row,
    not the Dense(512) (which is also a Dense with relu)?"""
    student = canonical_layers(mlp_with(layers.Dense(128, activation="relu")))
    rows = compare(canonical_layers(mlp_merged()), student)
    assert [(r.expected and r.expected.kind, r.actual and r.actual.kind) for r in rows] == [
        ("Dense(512, relu)", "Dense(512, relu)"), (None, "Dense(128, relu)"),
        ("Dense(10, softmax)", "Dense(10, softmax)"),
    ]  # fmt: skip
    shapes = compare(canonical_layers(mlp_merged()), student, ("output_shape",))
    assert all(r.matches for r in shapes if r.expected and r.actual)
