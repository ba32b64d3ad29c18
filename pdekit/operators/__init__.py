"""Neural operators (FNO, TFNO, MgNO, DeepONet) as equinox Modules.

Builds on ``pdekit.training`` (losses, normalisers, the training loop). Every model's
``__call__`` takes one unbatched sample ``(C_in, *spatial)``; batch with ``jax.vmap``.
"""

from ._deeponet import DeepONet as DeepONet
from ._deeponet import PODDeepONet as PODDeepONet
from ._deeponet import count_trainable as count_trainable
from ._factorisation import AbstractWeightFactory as AbstractWeightFactory
from ._factorisation import CPTensor as CPTensor
from ._factorisation import CPWeights as CPWeights
from ._factorisation import DenseTensor as DenseTensor
from ._factorisation import DenseWeights as DenseWeights
from ._factorisation import TuckerTensor as TuckerTensor
from ._factorisation import TuckerWeights as TuckerWeights
from ._factorisation import dense_to_cp as dense_to_cp
from ._factorisation import dense_to_tucker as dense_to_tucker
from ._factorisation import factory_from_config as factory_from_config
from ._fno import FNO as FNO
from ._fno import TFNO as TFNO
from ._fno import ChannelMLP as ChannelMLP
from ._fno import PointwiseLinear as PointwiseLinear
from ._fno import count_params as count_params
from ._fno import gelu_erf as gelu_erf
from ._fno import grid_channels as grid_channels
from ._io import build_model as build_model
from ._io import load_model as load_model
from ._io import model_config as model_config
from ._io import save_model as save_model
from ._mg_patching import MGPatching as MGPatching
from ._mgno import MgNO as MgNO
from ._mgno import VCycle as VCycle
from ._spectral_conv import SpectralConv as SpectralConv
from ._spectral_conv import kept_modes as kept_modes
from ._spectral_conv import weight_mode_shape as weight_mode_shape
