"""Model builders in the style of TensorFlow's "quickstart for experts" and keras.io's
subclassing guide: a keras.Model subclass with its layers in __init__ and a call()."""

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="student")
class DenseNet(keras.Model):
    def __init__(self, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(512, activation="relu")
        self.classifier = layers.Dense(num_classes, activation="softmax")

    def call(self, x):
        return self.classifier(self.hidden(x))


@keras.saving.register_keras_serializable(package="student")
class ConvNet(keras.Model):
    def __init__(self, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = layers.Conv2D(32, 3, activation="relu", padding="same")
        self.pool1 = layers.MaxPooling2D(2)
        self.conv2 = layers.Conv2D(64, 3, activation="relu", padding="same")
        self.pool2 = layers.MaxPooling2D(2)
        self.conv3 = layers.Conv2D(64, 3, activation="relu", padding="same")
        self.flatten = layers.Flatten()
        self.d1 = layers.Dense(64, activation="relu")
        self.d2 = layers.Dense(num_classes, activation="softmax")

    def call(self, x):
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        x = self.flatten(self.conv3(x))
        return self.d2(self.d1(x))


def build_mlp(input_dim=784, num_classes=10):
    model = DenseNet(num_classes)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = ConvNet(num_classes)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
