import tensorflow as tf

from tensorflow.keras.models import Model
from tensorflow.keras.layers import Conv2D, Dense, Flatten


def flatten_and_scale(x_train):
    x_train = x_train.reshape(x_train.shape[0], 784)
    x_train = x_train.astype('float32')
    return x_train / 255


def reshape_for_cnn(x_train):
    x_train = x_train.reshape(x_train.shape[0], 28, 28, 1)
    x_train = x_train.astype('float32')
    return x_train / 255


def one_hot(y_train, num_classes=10):
    return tf.keras.utils.to_categorical(y_train, num_classes)


def build_mlp(input_dim=784, num_classes=10):
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(input_dim,)),
        tf.keras.layers.Dense(128, activation='sigmoid'),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(num_classes, activation='softmax')
    ])
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    return model


class MyModel(Model):
    def __init__(self):
        super(MyModel, self).__init__()
        self.conv = Conv2D(28, 3, activation='relu')
        self.flatten = Flatten()
        self.dense1 = Dense(128, activation='relu')
        self.dense2 = Dense(10)

    def call(self, x):
        x = self.conv(x)
        x = self.flatten(x)
        x = self.dense1(x)
        return self.dense2(x)


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = MyModel()
    loss_object = tf.keras.losses.CategoricalCrossentropy(from_logits=True)
    optimizer = tf.keras.optimizers.Adam()
    model.compile(optimizer=optimizer, loss=loss_object, metrics=['accuracy'])
    return model


def train(model, x_train, y_train, *, epochs, batch_size, validation_split=0.0):
    return model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                     validation_split=validation_split)


def evaluate(model, x_test, y_test):
    loss, acc = model.evaluate(x_test, y_test)
    return loss, acc


def save(model, path):
    model.save(path)


def load(path):
    return tf.keras.models.load_model(path, custom_objects={'MyModel': MyModel})
