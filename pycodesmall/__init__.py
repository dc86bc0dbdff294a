"""pycodesmall: small language models for Python code.

    import pycodesmall
    model = pycodesmall.load()                       # the bundled model, offline
    print(pycodesmall.complete("def add(a, b):\n", model=model).text)
"""

from pycodesmall.api import Completion, complete, complete_batch, load
from pycodesmall.config import ModelConfig
from pycodesmall.errors import (ConfigError, MissingExtraError, ModelNotFoundError,
                                PycodesmallError, WeightsError)
from pycodesmall.hub import list_models
from pycodesmall.pretrained import CodeModel
from pycodesmall.tokenizer import PythonTokenizer
from pycodesmall.validate import Validation, validate

__all__ = [
    "load", "complete", "complete_batch", "validate", "list_models",
    "Completion", "Validation", "CodeModel", "ModelConfig", "PythonTokenizer",
    "PycodesmallError", "ModelNotFoundError", "WeightsError", "ConfigError", "MissingExtraError",
]
