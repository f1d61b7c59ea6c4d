"""Writing a training loop from scratch in TensorFlow
(https://keras.io/guides/writing_a_custom_training_loop_in_tensorflow/)."""
import time

import keras
import numpy as np
import tensorflow as tf


def flatten_and_scale(x_train):
    x_train = np.reshape(x_train, (-1, 784))
    return x_train.astype("float32") / 255.0


def reshape_for_cnn(x_train):
    x_train = np.reshape(x_train, (-1, 28, 28, 1))
    return x_train.astype("float32") / 255.0


def one_hot(y_train, num_classes=10):
    return keras.utils.to_categorical(y_train, num_classes)


def get_model(input_dim=784, num_classes=10):
    inputs = keras.Input(shape=(input_dim,), name="digits")
    x1 = keras.layers.Dense(64, activation="relu")(inputs)
    x2 = keras.layers.Dense(64, activation="relu")(x1)
    outputs = keras.layers.Dense(num_classes, name="predictions")(x2)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


def build_mlp(input_dim=784, num_classes=10):
    model = get_model(input_dim, num_classes)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    inputs = keras.Input(shape=input_shape, name="digits")
    x = keras.layers.Conv2D(32, (3, 3), activation="relu", padding="same")(inputs)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    x = keras.layers.Conv2D(64, (3, 3), activation="relu", padding="same")(x)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    x = keras.layers.Conv2D(64, (3, 3), activation="relu", padding="same")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(num_classes, name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def train(model, x_train, y_train, *, epochs, batch_size, validation_split=0.0):
    # Instantiate an optimizer to train the model.
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    # Instantiate a loss function.
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    # Prepare the metrics.
    train_acc_metric = keras.metrics.CategoricalAccuracy()
    val_acc_metric = keras.metrics.CategoricalAccuracy()

    # Reserve samples for validation.
    num_val = int(len(x_train) * validation_split)
    if num_val:
        x_val = x_train[-num_val:]
        y_val = y_train[-num_val:]
        x_train = x_train[:-num_val]
        y_train = y_train[:-num_val]

    # Prepare the training dataset.
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    train_dataset = train_dataset.shuffle(buffer_size=1024).batch(batch_size)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss_value = loss_fn(y, logits)
        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply(grads, model.trainable_weights)
        train_acc_metric.update_state(y, logits)
        return loss_value

    @tf.function
    def test_step(x, y):
        val_logits = model(x, training=False)
        val_acc_metric.update_state(y, val_logits)

    history = keras.callbacks.History()
    history.history = {"loss": [], "accuracy": []}
    if num_val:
        history.history["val_accuracy"] = []
        # Prepare the validation dataset.
        val_dataset = tf.data.Dataset.from_tensor_slices((x_val, y_val))
        val_dataset = val_dataset.batch(batch_size)

    for epoch in range(epochs):
        print(f"\nStart of epoch {epoch}")
        start_time = time.time()

        # Iterate over the batches of the dataset.
        for step, (x_batch_train, y_batch_train) in enumerate(train_dataset):
            loss_value = train_step(x_batch_train, y_batch_train)

            # Log every 100 batches.
            if step % 100 == 0:
                print(f"Training loss (for 1 batch) at step {step}: {float(loss_value):.4f}")
                print(f"Seen so far: {(step + 1) * batch_size} samples")

        # Display metrics at the end of each epoch.
        train_acc = train_acc_metric.result()
        print(f"Training acc over epoch: {float(train_acc):.4f}")
        history.history["loss"].append(float(loss_value))
        history.history["accuracy"].append(float(train_acc))

        # Reset training metrics at the end of each epoch
        train_acc_metric.reset_state()

        # Run a validation loop at the end of each epoch.
        if num_val:
            for x_batch_val, y_batch_val in val_dataset:
                test_step(x_batch_val, y_batch_val)
            val_acc = val_acc_metric.result()
            val_acc_metric.reset_state()
            print(f"Validation acc: {float(val_acc):.4f}")
            history.history["val_accuracy"].append(float(val_acc))
        print(f"Time taken: {time.time() - start_time:.2f}s")
    return history


def evaluate(model, x, y):
    loss, acc = model.evaluate(x, y, verbose=0)
    return loss, acc


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(path)
