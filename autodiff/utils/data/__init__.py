"""``autodiff.utils.data``: datasets, samplers and the DataLoader, as ``torch.utils.data``."""

from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .worker import WorkerInfo, get_worker_info
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset", "RandomSampler",
           "Sampler", "SequentialSampler", "Subset", "TensorDataset", "default_collate", "default_convert",
           "random_split", "WorkerInfo", "get_worker_info"]
