import keras


def train(model, x_train, y_train, *, epochs, batch_size, validation_split=0.0):
    callbacks = [
        keras.callbacks.ModelCheckpoint(filepath="model_at_epoch_{epoch}.keras"),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=2),
    ]
    return model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_split=validation_split,
        callbacks=callbacks,
    )


def evaluate(model, x_test, y_test):
    score = model.evaluate(x_test, y_test, verbose=0)
    return score[0], score[1]


def save(model, path):
    model.save(path)


def load(path):
    return keras.saving.load_model(path)
