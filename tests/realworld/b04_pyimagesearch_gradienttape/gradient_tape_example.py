# USAGE
# python gradient_tape_example.py

# import the necessary packages
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import BatchNormalization
from tensorflow.keras.layers import Conv2D
from tensorflow.keras.layers import MaxPooling2D
from tensorflow.keras.layers import Activation
from tensorflow.keras.layers import Flatten
from tensorflow.keras.layers import Dropout
from tensorflow.keras.layers import Dense
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.losses import categorical_crossentropy
from tensorflow.keras.models import load_model
from tensorflow.keras.utils import to_categorical
import tensorflow as tf
import numpy as np
import time
import sys

# initialize the learning rate
INIT_LR = 1e-3


def build_model(width, height, depth, classes):
    # initialize the input shape and channels dimension to be
    # "channels last" ordering
    inputShape = (height, width, depth)
    chanDim = -1

    # build the model using Keras' Sequential API
    model = Sequential([
        # CONV => RELU => BN => POOL layer set
        Conv2D(16, (3, 3), padding="same", input_shape=inputShape),
        Activation("relu"),
        BatchNormalization(axis=chanDim),
        MaxPooling2D(pool_size=(2, 2)),

        # (CONV => RELU => BN) * 2 => POOL
        Conv2D(32, (3, 3), padding="same"),
        Activation("relu"),
        BatchNormalization(axis=chanDim),
        Conv2D(32, (3, 3), padding="same"),
        Activation("relu"),
        BatchNormalization(axis=chanDim),
        MaxPooling2D(pool_size=(2, 2)),

        # (CONV => RELU => BN) * 3 => POOL
        Conv2D(64, (3, 3), padding="same"),
        Activation("relu"),
        BatchNormalization(axis=chanDim),
        Conv2D(64, (3, 3), padding="same"),
        Activation("relu"),
        BatchNormalization(axis=chanDim),
        Conv2D(64, (3, 3), padding="same"),
        Activation("relu"),
        BatchNormalization(axis=chanDim),
        MaxPooling2D(pool_size=(2, 2)),

        # first (and only) set of FC => RELU layers
        Flatten(),
        Dense(256),
        Activation("relu"),
        BatchNormalization(),
        Dropout(0.5),

        # softmax classifier
        Dense(classes),
        Activation("softmax")
    ])

    # return the built model to the calling function
    return model


def step(model, opt, X, y):
    # keep track of our gradients
    with tf.GradientTape() as tape:
        # make a prediction using the model and then calculate the
        # loss
        pred = model(X)
        loss = categorical_crossentropy(y, pred)

    # calculate the gradients using our tape and then update the
    # model weights
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    return float(tf.reduce_mean(loss))


def flatten_and_scale(images):
    return images.reshape((images.shape[0], 28 * 28)).astype("float32") / 255.0


def reshape_for_cnn(images):
    # add a channel dimension to the digits and scale to [0, 1]
    images = np.expand_dims(images, axis=-1)
    return images.astype("float32") / 255.0


def one_hot(labels, num_classes=10):
    # one-hot encode the labels
    return to_categorical(labels, num_classes)


def build_mlp(input_dim=784, num_classes=10):
    model = Sequential([
        Dense(256, input_shape=(input_dim,)),
        Activation("relu"),
        BatchNormalization(),
        Dropout(0.5),
        Dense(num_classes),
        Activation("softmax")
    ])
    model.compile(optimizer=Adam(learning_rate=INIT_LR),
                  loss=categorical_crossentropy, metrics=["acc"])
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    (height, width, depth) = input_shape
    model = build_model(width, height, depth, num_classes)
    model.compile(optimizer=Adam(learning_rate=INIT_LR),
                  loss=categorical_crossentropy, metrics=["acc"])
    return model


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    # initialize our optimizer
    opt = Adam(learning_rate=INIT_LR)

    # compute the number of batch updates per epoch
    numUpdates = int(x.shape[0] / batch_size)
    history = {"loss": []}

    # loop over the number of epochs
    for epoch in range(0, epochs):
        # show the current epoch number
        print("[INFO] starting epoch {}/{}...".format(epoch + 1, epochs), end="")
        sys.stdout.flush()
        epochStart = time.time()
        losses = []

        # loop over the data in batch size increments
        for i in range(0, numUpdates):
            # determine starting and ending slice indexes for the current
            # batch
            start = i * batch_size
            end = start + batch_size

            # take a step
            losses.append(step(model, opt, x[start:end], y[start:end]))

        # show timing information for the epoch
        epochEnd = time.time()
        elapsed = (epochEnd - epochStart) / 60.0
        print("took {:.4} minutes".format(elapsed))
        history["loss"].append(float(np.mean(losses)))

    # in order to calculate accuracy using Keras' functions we first need
    # to compile the model
    model.compile(optimizer=opt, loss=categorical_crossentropy,
                  metrics=["acc"])
    return history


def evaluate(model, x, y):
    # now that the model is compiled we can compute the accuracy
    (loss, acc) = model.evaluate(x, y)
    print("[INFO] test accuracy: {:.4f}".format(acc))
    return loss, acc


def save(model, path):
    model.save(path)


def load(path):
    return load_model(path)
