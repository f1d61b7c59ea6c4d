def build_mlp(input_dim=784, num_classes=10):
    raise NotImplementedError


def build_cnn(input_shape=(28, 28, 1), num_classes=10):
    raise NotImplementedError
