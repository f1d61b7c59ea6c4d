import os

import tensorflow as tf

checkpoint_path = "training_1/cp.weights.h5"
checkpoint_dir = os.path.dirname(checkpoint_path)


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    # Create a callback that saves the model's weights
    cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_path,
                                                     save_weights_only=True,
                                                     verbose=1)
    # Train the model with the new callback
    history = model.fit(x, y,
                        epochs=epochs,
                        batch_size=batch_size,
                        validation_split=validation_split,
                        callbacks=[cp_callback])  # Pass callback to training
    return history


def evaluate(model, x, y):
    loss, acc = model.evaluate(x, y, verbose=2)
    print("Restored model, accuracy: {:5.2f}%".format(100 * acc))
    return loss, acc


def save(model, path):
    # Save the entire model as a `.keras` zip archive.
    model.save(path)


def load(path):
    new_model = tf.keras.models.load_model(path)
    return new_model
