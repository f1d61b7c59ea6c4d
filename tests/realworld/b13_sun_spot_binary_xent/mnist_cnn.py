import tensorflow as tf


def flatten_and_scale(x_train):
    return x_train.reshape(-1, 784) / 255.0


def reshape_for_cnn(x_train):
    return x_train.reshape(-1, 28, 28, 1) / 255.0


def one_hot(y_train, num_classes=10):
    return tf.keras.utils.to_categorical(y_train, num_classes)


def build_mlp(input_dim=784, num_classes=10):
    model = tf.keras.models.Sequential([
        tf.keras.layers.Dense(512, activation='relu', input_shape=(input_dim,)),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(num_classes, activation='softmax')
    ])
    model.compile(loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  optimizer=tf.keras.optimizers.Adam(),
                  metrics=['accuracy'])
    return model


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    model = tf.keras.models.Sequential([
        tf.keras.layers.Conv2D(32, [3, 3], activation='relu', input_shape=input_shape),
        tf.keras.layers.Conv2D(64, [3, 3], activation='relu'),
        tf.keras.layers.MaxPooling2D(pool_size=(2, 2)),
        tf.keras.layers.Dropout(0.25),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation='relu'),
        tf.keras.layers.Dropout(0.5),
        tf.keras.layers.Dense(num_classes, activation='softmax')
    ])
    model.compile(loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  optimizer=tf.keras.optimizers.Adam(),
                  metrics=['accuracy'])
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
    return tf.keras.models.load_model(path)
