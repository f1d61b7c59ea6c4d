from tensorflow import keras

from models import RootMeanSquaredError


def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    callbacks_list = [
        keras.callbacks.EarlyStopping(
            monitor="val_accuracy",
            patience=2,
        ),
        keras.callbacks.ModelCheckpoint(
            filepath="checkpoint_path.keras",
            monitor="val_loss",
            save_best_only=True,
        )
    ]
    return model.fit(x, y,
                     epochs=epochs,
                     batch_size=batch_size,
                     callbacks=callbacks_list,
                     validation_split=validation_split)


def evaluate(model, x, y):
    test_metrics = model.evaluate(x, y, return_dict=True)
    return test_metrics["loss"], test_metrics["accuracy"]


def save(model, path):
    model.save(path)


def load(path):
    return keras.models.load_model(
        path, custom_objects={"RootMeanSquaredError": RootMeanSquaredError})
