"""MNIST assignment -- ported from the TensorFlow 2 quickstart for beginners
(https://www.tensorflow.org/tutorials/quickstart/beginner) and the CNN tutorial
(https://www.tensorflow.org/tutorials/images/cnn)."""

import tensorflow as tf


def flatten_and_scale(images):
    x = images.reshape(images.shape[0], 28 * 28)
    # Scale these values to a range of 0 to 1 by dividing the values by 255.0
    return x / 255.0


def reshape_for_cnn(images):
    images = images / 255.0
    return images.reshape((images.shape[0], 28, 28, 1))


def one_hot(labels, num_classes=10):
    return tf.keras.utils.to_categorical(labels, num_classes=num_classes)


def build_mlp(input_dim=784, num_classes=10):
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(input_dim,)),
        tf.keras.layers.Dense(128, activation='relu'),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(num_classes)
    ])
    # the model returns a vector of logits; the loss applies the softmax itself
    loss_fn = tf.keras.losses.CategoricalCrossentropy(from_logits=True)
    model.compile(optimizer='adam',
                  loss=loss_fn,
                  metrics=['accuracy'])
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = tf.keras.models.Sequential()
    model.add(tf.keras.layers.Conv2D(32, (3, 3), activation='relu', input_shape=input_shape))
    model.add(tf.keras.layers.MaxPooling2D((2, 2)))
    model.add(tf.keras.layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(tf.keras.layers.MaxPooling2D((2, 2)))
    model.add(tf.keras.layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(tf.keras.layers.Flatten())
    model.add(tf.keras.layers.Dense(64, activation='relu'))
    model.add(tf.keras.layers.Dense(num_classes))

    model.compile(optimizer='adam',
                  loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
    return model


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    return model.fit(x, y, epochs=epochs, batch_size=batch_size,
                     validation_split=validation_split)


def evaluate(model, x, y):
    loss, acc = model.evaluate(x, y, verbose=2)
    return loss, acc


def save(model, path):
    model.save(path)


def load(path):
    return tf.keras.models.load_model(path)
