import os

os.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'

import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers


def flatten_and_scale(x_train):
    return x_train.reshape(-1, 28 * 28).astype('float32') / 255.0


def reshape_for_cnn(x_train):
    return x_train.reshape(-1, 28, 28, 1).astype('float32') / 255.0


def one_hot(y_train, num_classes=10):
    return keras.utils.to_categorical(y_train, num_classes)


class MyModel(keras.Model):
    def __init__(self, num_classes=10):
        super(MyModel, self).__init__()
        self.flatten = layers.Flatten()
        self.dense1 = layers.Dense(64, activation='relu')
        self.dense2 = layers.Dense(num_classes)

    def call(self, input_tensor):
        x = self.flatten(input_tensor)
        x = self.dense1(x)
        return self.dense2(x)


def build_mlp(input_dim=784, num_classes=10):
    model = MyModel(num_classes)
    model.compile(
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.Adam(),
        metrics=['accuracy']
    )
    return model


def my_model(input_shape=(28, 28, 1), num_classes=10):
    inputs = keras.Input(shape=input_shape)

    x = layers.Conv2D(32, 3, padding='same')(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)

    x = layers.MaxPooling2D()(x)

    x = layers.Conv2D(64, 3, padding='same')(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)

    x = layers.MaxPooling2D()(x)

    x = layers.Conv2D(128, 3, padding='same')(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)

    x = layers.Flatten()(x)
    x = layers.Dense(64, activation='relu')(x)
    outputs = layers.Dense(num_classes)(x)

    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = my_model(input_shape, num_classes)
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.Adam(learning_rate=3e-4),
                  metrics=['accuracy'])
    return model


def train(model, x_train, y_train, *, epochs, batch_size, validation_split=0.0):
    return model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                     validation_split=validation_split, verbose=2)


def evaluate(model, x_test, y_test):
    loss, acc = model.evaluate(x_test, y_test, batch_size=32, verbose=2)
    return loss, acc


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(path, custom_objects={'MyModel': MyModel})
