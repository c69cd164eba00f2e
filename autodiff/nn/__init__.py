"""``autodiff.nn``: neural-network building blocks, as ``torch.nn``."""

from . import functional  # noqa: F401
from . import init, utils  # noqa: F401
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .containers import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d
from .dropout import Dropout
from .flatten import Flatten, Unflatten
from .linear import Bilinear, Identity, LazyLinear, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss,
                   NLLLoss, SmoothL1Loss)
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .sparse import Embedding
from .conv import ConvTranspose1d, ConvTranspose2d  # noqa: E402
from .dropout import Dropout1d, Dropout2d, Dropout3d  # noqa: E402
from .normalization import GroupNorm, InstanceNorm1d, InstanceNorm2d  # noqa: E402
from .upsampling import PixelShuffle, PixelUnshuffle, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: E402
from . import parametrizations as _parametrizations, parametrize as _parametrize  # noqa: E402
import sys as _sys  # noqa: E402

# ``import autodiff.nn.utils.parametrize`` as with torch (nn.utils is a module, not a package)
_sys.modules[__name__ + ".utils.parametrize"] = _parametrize
_sys.modules[__name__ + ".utils.parametrizations"] = _parametrizations
from . import parallel  # noqa: E402
from .parallel import DataParallel  # noqa: E402
from .attention import MultiheadAttention  # noqa: E402
from .transformer import (Transformer,  # noqa: E402
                          TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: E402
from . import modules  # noqa: E402,F401  (torch.nn.modules' submodule names)
