"""Introduction to Keras for engineers (https://keras.io/getting_started/intro_to_keras_for_engineers/)."""
import os

# Note that Keras should only be imported after the backend
# has been configured. The backend cannot be changed once the
# package is imported.
os.environ["KERAS_BACKEND"] = "tensorflow"

import keras


def _compile(model):
    model.compile(
        loss=keras.losses.CategoricalCrossentropy(),
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        metrics=[
            keras.metrics.CategoricalAccuracy(name="acc"),
        ],
    )
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = keras.Sequential(
        [
            keras.layers.Input(shape=input_shape),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(128, kernel_size=(3, 3), activation="relu"),
            keras.layers.Conv2D(128, kernel_size=(3, 3), activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )
    return _compile(model)


def build_mlp(input_dim=784, num_classes=10):
    model = keras.Sequential(
        [
            keras.layers.Input(shape=(input_dim,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )
    return _compile(model)
