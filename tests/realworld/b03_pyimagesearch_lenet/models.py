# import the necessary packages
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from tensorflow.keras.optimizers import SGD

from lenet import LeNet


def build_mlp(input_dim=784, num_classes=10):
    # define the 784-256-128-10 architecture using Keras
    model = Sequential()
    model.add(Dense(256, input_shape=(input_dim,), activation="sigmoid"))
    model.add(Dense(128, activation="sigmoid"))
    model.add(Dense(num_classes, activation="softmax"))

    # train the model using SGD
    print("[INFO] training network...")
    sgd = SGD(0.01)
    model.compile(loss="categorical_crossentropy", optimizer=sgd,
                  metrics=["accuracy"])
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    # initialize the optimizer and model
    print("[INFO] compiling model...")
    (height, width, depth) = input_shape
    opt = SGD(learning_rate=0.01)
    model = LeNet.build(width=width, height=height, depth=depth, classes=num_classes)
    model.compile(loss="categorical_crossentropy", optimizer=opt,
                  metrics=["accuracy"])
    return model
