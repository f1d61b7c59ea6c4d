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


def flatten_and_scale(images):
    return images.reshape(len(images), -1).astype("float32") / 255


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    return model.fit(x, y, epochs=epochs, batch_size=batch_size,
                     validation_split=validation_split, verbose=0)
