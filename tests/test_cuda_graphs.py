"""The torch backend on CUDA: CUDA-graph decoding steps give eager decoding's tokens."""

import pytest
import torch

from model_fixtures import tiny_config
from pycodesmall.model import Transformer
from pycodesmall.runtime import Engine
from pycodesmall.runtime.speculative import PromptLookup
from pycodesmall.runtime.torch_backend import TorchBackend

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.mark.parametrize("overrides", [{}, {"sliding_window": 6}])
def test_graph_steps_match_eager_steps(overrides):
    torch.manual_seed(0)
    module = Transformer(tiny_config(512, **overrides))
    eager = TorchBackend(module, "cuda", torch.float32, cuda_graphs=False)
    graphed = TorchBackend(module, "cuda", torch.float32, cuda_graphs=True)
    prompts = [[5, 17, 300, 42, 8, 99, 23], [7, 11], [400, 3, 12, 19]]
    expected = Engine(eager, eos_id=None).generate(prompts, 32)
    actual = Engine(graphed, eos_id=None).generate(prompts, 32)
    assert [g.tokens for g in actual] == [g.tokens for g in expected]
    tokens = torch.tensor([[5, 6, 7, 8]])
    pads = torch.zeros(1, dtype=torch.long)
    (a, cache_a), (b, cache_b) = eager.prefill(tokens, pads, 1, 8), graphed.prefill(tokens, pads, 1, 8)
    for _ in range(6):
        next_ids = a.argmax(-1)
        (a, cache_a), (b, cache_b) = eager.step(next_ids, cache_a), graphed.step(next_ids, cache_b)
        torch.testing.assert_close(b, a, atol=1e-4, rtol=0)


def test_speculative_decoding_with_graph_steps_gives_plain_greedy():
    torch.manual_seed(0)
    backend = TorchBackend(Transformer(tiny_config(512)), "cuda", torch.float32)
    engine = Engine(backend, eos_id=None)
    prompt = list(range(40, 72)) * 3
    [plain] = engine.generate([prompt], 48)
    [fast] = engine.generate([prompt], 48, lookup=PromptLookup())
    assert fast.tokens == plain.tokens
