"""train() as a hand-written loop (TensorFlow's "quickstart for experts", keras.io's
"writing a training loop from scratch"): GradientTape over a tf.data pipeline."""

import math

import keras
import tensorflow as tf


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    split = int(math.ceil(len(x) * (1.0 - validation_split)))
    train_ds = tf.data.Dataset.from_tensor_slices((x[:split], y[:split])).batch(batch_size)
    optimizer = keras.optimizers.RMSprop()
    loss_fn = keras.losses.CategoricalCrossentropy()
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    for _ in range(epochs):
        losses, right, seen = [], 0, 0
        for xb, yb in train_ds:
            with tf.GradientTape() as tape:
                probs = model(xb, training=True)
                loss = loss_fn(yb, probs)
            grads = tape.gradient(loss, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            losses.append(float(loss))
            right += int(tf.reduce_sum(tf.cast(
                tf.argmax(probs, axis=1) == tf.argmax(yb, axis=1), tf.int32)))
            seen += len(xb)
        history["loss"].append(sum(losses) / len(losses))
        history["accuracy"].append(right / seen)
        if split < len(x):  # validate on the held-out rows, as model.fit does
            probs = model(x[split:], training=False)
            history["val_loss"].append(float(loss_fn(y[split:], probs)))
            history["val_accuracy"].append(float(tf.reduce_mean(tf.cast(
                tf.argmax(probs, axis=1) == tf.argmax(y[split:], axis=1), tf.float32))))
    return {key: values for key, values in history.items() if values}


def evaluate(model, x, y):
    loss, accuracy = model.evaluate(x, y, verbose=0)
    return float(loss), float(accuracy)


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(path)
