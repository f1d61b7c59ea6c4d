from matplotlib import pyplot
from tensorflow.keras.models import load_model


# fit model
def train(model, x, y, *, epochs, batch_size, validation_split=0.0):
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size,
                        validation_split=validation_split, verbose=0)
    return history


# evaluate model
def evaluate(model, x, y):
    loss, acc = model.evaluate(x, y, verbose=0)
    print('> %.3f' % (acc * 100.0))
    return loss, acc


# plot diagnostic learning curves
def summarize_diagnostics(histories):
    for i in range(len(histories)):
        # plot loss
        pyplot.subplot(2, 1, 1)
        pyplot.title('Cross Entropy Loss')
        pyplot.plot(histories[i].history['loss'], color='blue', label='train')
        pyplot.plot(histories[i].history['val_loss'], color='orange', label='test')
        # plot accuracy
        pyplot.subplot(2, 1, 2)
        pyplot.title('Classification Accuracy')
        pyplot.plot(histories[i].history['accuracy'], color='blue', label='train')
        pyplot.plot(histories[i].history['val_accuracy'], color='orange', label='test')
    pyplot.show()


# save model
def save(model, path):
    model.save(path)


# load model
def load(path):
    return load_model(path)
