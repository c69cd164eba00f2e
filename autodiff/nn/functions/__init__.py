"""The implementations behind ``autodiff.nn.functional``, one module per family
(linear, convolution, pooling, normalization, dropout, sparse, loss). Import them from
``autodiff.nn.functional``, the public namespace."""
