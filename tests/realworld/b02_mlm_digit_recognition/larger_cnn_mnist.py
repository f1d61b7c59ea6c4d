# Larger CNN for the MNIST Dataset
# (Handwritten Digit Recognition using Convolutional Neural Networks in Python with Keras)
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from tensorflow.keras.layers import Dropout
from tensorflow.keras.layers import Flatten
from tensorflow.keras.layers import Conv2D
from tensorflow.keras.layers import MaxPooling2D
from tensorflow.keras.models import load_model
from tensorflow.keras.utils import to_categorical


def flatten_and_scale(X):
    # flatten 28*28 images to a 784 vector for each image
    num_pixels = X.shape[1] * X.shape[2]
    X = X.reshape((X.shape[0], num_pixels)).astype('float32')
    # normalize inputs from 0-255 to 0-1
    X = X / 255
    return X


def reshape_for_cnn(X):
    # reshape to be [samples][width][height][channels]
    X = X.reshape((X.shape[0], 28, 28, 1)).astype('float32')
    # normalize inputs from 0-255 to 0-1
    X = X / 255
    return X


def one_hot(y, num_classes=10):
    # one hot encode outputs
    return to_categorical(y, num_classes)


# define baseline model
def baseline_model(num_pixels=784, num_classes=10):
    # create model
    model = Sequential()
    model.add(Dense(num_pixels, input_shape=(num_pixels,), kernel_initializer='normal', activation='relu'))
    model.add(Dense(num_classes, kernel_initializer='normal', activation='softmax'))
    # Compile model
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    return model


# define the larger model
def larger_model(num_classes=10):
    # create model
    model = Sequential()
    model.add(Conv2D(30, (5, 5), input_shape=(28, 28, 1), activation='relu'))
    model.add(MaxPooling2D())
    model.add(Conv2D(15, (3, 3), activation='relu'))
    model.add(MaxPooling2D())
    model.add(Dropout(0.2))
    model.add(Flatten())
    model.add(Dense(128, activation='relu'))
    model.add(Dense(50, activation='relu'))
    model.add(Dense(num_classes, activation='softmax'))
    # Compile model
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    return model


def build_mlp(input_dim=784, num_classes=10):
    return baseline_model(input_dim, num_classes)


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    return larger_model(num_classes)


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    # Fit the model
    return model.fit(x, y, validation_split=validation_split, epochs=epochs,
                     batch_size=batch_size, verbose=2)


def evaluate(model, x, y):
    # Final evaluation of the model
    scores = model.evaluate(x, y, verbose=0)
    print("Large CNN Error: %.2f%%" % (100 - scores[1] * 100))
    return scores[0], scores[1]


def save(model, path):
    model.save(path)


def load(path):
    return load_model(path)
