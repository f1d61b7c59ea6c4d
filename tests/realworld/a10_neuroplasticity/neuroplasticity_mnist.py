import keras
from keras.models import Sequential
from keras.layers import Dense, Dropout, Flatten
from keras.layers import Conv2D, MaxPooling2D
from keras.optimizers import RMSprop
from keras import backend as K

batch_size = 128
epochs = 12

# input image dimensions
img_rows, img_cols = 28, 28
dim = img_rows * img_cols
num_classes = 10


def flatten_and_scale(x):
    x = x.reshape(x.shape[0], dim)
    x = x.astype('float32')
    x /= 255
    return x


def reshape_for_cnn(x):
    if K.image_data_format() == 'channels_first':
        x = x.reshape(x.shape[0], 1, img_rows, img_cols)
    else:
        x = x.reshape(x.shape[0], img_rows, img_cols, 1)
    x = x.astype('float32')
    x /= 255
    return x


def one_hot(y, num_classes=num_classes):
    # convert class vectors to binary class matrices
    return keras.utils.to_categorical(y, num_classes)


def build_mlp(input_dim=dim, num_classes=num_classes):
    model = Sequential()
    model.add(Dense(512, activation='relu', input_dim=input_dim))
    model.add(Dropout(0.2))
    model.add(Dense(512, activation='relu'))
    model.add(Dropout(0.2))
    model.add(Dense(num_classes, activation='softmax'))

    model.summary()

    model.compile(loss='categorical_crossentropy',
                  optimizer=RMSprop(),
                  metrics=['accuracy'])
    return model


def build_cnn(input_shape=(img_rows, img_cols, 1), num_classes=num_classes):
    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3),
                     activation='relu',
                     input_shape=input_shape))
    model.add(Conv2D(64, (3, 3), activation='relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(128, activation='relu'))
    model.add(Dropout(0.5))
    model.add(Dense(num_classes, activation='softmax'))

    model.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=keras.optimizers.Adadelta(),
                  metrics=['accuracy'])
    return model


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    history = model.fit(x, y,
                        batch_size=batch_size,
                        epochs=epochs,
                        verbose=1,
                        validation_split=validation_split)
    return history


def evaluate(model, x, y):
    score = model.evaluate(x, y, verbose=0)
    print('Test loss:', score[0])
    print('Test accuracy:', score[1])
    return score[0], score[1]


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(path)
