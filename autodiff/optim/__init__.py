"""``autodiff.optim``: optimizers and learning-rate schedulers, as ``torch.optim``."""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD
from .adadelta import Adadelta
from .adamax import Adamax
from .lbfgs import LBFGS
from .nadam import NAdam
from .radam import RAdam

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler",
           "Adadelta", "Adamax", "LBFGS", "NAdam", "RAdam"]
