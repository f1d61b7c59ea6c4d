"""A custom layer that passes itself off as keras.layers.Dense (same name, same module)."""
import keras


class Dense(keras.layers.Dense):
    def call(self, inputs):
        return super().call(inputs) * 2.0


Dense.__module__ = "keras.layers"
Dense.__qualname__ = "Dense"


def build_mlp(input_dim=784, num_classes=10):
    model = keras.Sequential([
        keras.Input(shape=(input_dim,)),
        Dense(512, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
