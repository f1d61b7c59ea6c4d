"""The Sequential model (https://keras.io/guides/sequential_model/): add() one layer at a
time, starting with keras.Input, and summary() while building."""
import keras
from keras import layers


def build_mlp(input_dim=784, num_classes=10):
    model = keras.Sequential(name="my_sequential")
    model.add(keras.Input(shape=(input_dim,)))
    model.add(layers.Dense(512, activation="relu", name="layer1"))
    model.add(layers.Dense(num_classes, activation="softmax", name="layer2"))
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = keras.Sequential()
    model.add(keras.Input(shape=input_shape))  # 28x28 grayscale images
    model.add(layers.Conv2D(32, 3, padding="same", activation="relu"))
    model.add(layers.MaxPooling2D(2))
    model.add(layers.Conv2D(64, 3, padding="same", activation="relu"))
    model.add(layers.MaxPooling2D(2))
    model.add(layers.Conv2D(64, 3, padding="same", activation="relu"))

    # Can you guess what the current output shape is at this point? Probably not.
    # Let's just print it:
    model.summary()

    # Now that we have 7x7 feature maps, time to apply flattening.
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))

    # Finally, we add a classification layer.
    model.add(layers.Dense(num_classes, activation="softmax"))
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
