"""An MNIST-style CNN trained with Adadelta and StepLR, as the PyTorch examples' MNIST
program, on synthetic 12x12 "digits" (a class-dependent pattern plus noise)."""

import numpy as np

from program_common import compare


def build(lib):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, 1)
            self.conv2 = nn.Conv2d(8, 16, 3, 1)
            self.fc1 = nn.Linear(16 * 4 * 4, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = lib.flatten(x, 1)
            x = F.relu(self.fc1(x))
            return F.log_softmax(self.fc2(x), dim=1)

    return Net()


def _data():
    rs = np.random.RandomState(0)
    patterns = rs.rand(10, 1, 12, 12).astype(np.float32)
    labels = rs.randint(0, 10, 96)
    images = patterns[labels] + 0.3 * rs.randn(96, 1, 12, 12).astype(np.float32)
    return images, labels


def program(lib, make, epochs):
    data = lib.utils.data
    images, labels = _data()
    loader = data.DataLoader(data.TensorDataset(lib.from_numpy(images), lib.from_numpy(labels)), batch_size=32)
    model = make(lib, build)
    optimizer = lib.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = lib.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    losses = []
    for _ in range(epochs):
        model.train()
        for x, target in loader:
            optimizer.zero_grad()
            loss = lib.nn.functional.nll_loss(model(x), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        model.eval()
        with lib.no_grad():
            output = model(lib.from_numpy(images))
            losses.append(lib.nn.functional.nll_loss(output, lib.from_numpy(labels), reduction="sum").item())
            correct = output.argmax(dim=1, keepdim=True).eq(lib.from_numpy(labels).view(-1, 1)).sum().item()
            losses.append(float(correct))
    return losses


def test_mnist_cnn_trains_like_torch():
    losses = compare(program, 3, rtol=1e-3, atol=1e-4)
    evals, correct = losses[3::5], losses[4::5]  # per epoch: 3 batches, eval loss, correct count
    assert evals[-1] < evals[0] and correct[-1] > 10  # better than chance (about 10 of 96)
