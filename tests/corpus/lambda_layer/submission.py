"""An MLP with a Lambda layer (arbitrary code in the model)."""
import keras


def build_mlp(input_dim=784, num_classes=10):
    model = keras.Sequential([
        keras.Input(shape=(input_dim,)),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Lambda(lambda t: t * 2.0),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
