"""pycodesmall: small language models for Python code."""

from pycodesmall.config import ModelConfig
from pycodesmall.errors import ConfigError, ModelNotFoundError, PycodesmallError, WeightsError
from pycodesmall.tokenizer import PythonTokenizer

__all__ = ["ModelConfig", "PythonTokenizer", "PycodesmallError", "ModelNotFoundError",
           "WeightsError", "ConfigError"]
