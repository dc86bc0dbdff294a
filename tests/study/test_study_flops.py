"""Parameter and FLOP counts: by hand for one small config, and against the built model."""

from __future__ import annotations

import pytest

from pycodesmall.config import ModelConfig
from pycodesmall.errors import ConfigError
from pycodesmall.model import Transformer
from pycodesmall.training.study.flops import count_parameters, training_flops_per_token

# vocab 512, hidden 64, 2 layers, 4 query heads of 16, 2 KV heads (GQA), SwiGLU width 192
SMALL = dict(vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, intermediate_size=192)


def test_flops_per_token_by_hand():
    config = ModelConfig(**SMALL)
    flops = training_flops_per_token(config, seq_len=128)
    # d_attn = 4 heads * 16 = 64, d_kv = 2 heads * 16 = 32. Weights of the linear maps per layer:
    #   q 64*64 = 4096, k 64*32 = 2048, v 64*32 = 2048, o 64*64 = 4096    -> 12288
    #   gate 64*192 = 12288, up 64*192 = 12288, down 192*64 = 12288        -> 36864
    #   per layer 12288 + 36864 = 49152; 2 layers -> 98304
    assert flops.matmul == 6 * 98304 == 589824
    # causal attention, 128 keys: 6 * layers * seq_len * d_attn = 6 * 2 * 128 * 64
    assert flops.attention == pytest.approx(6 * 2 * 128 * 64) == 98304
    # output layer 6 * hidden * vocab = 6 * 64 * 512, tied or not
    assert flops.output_layer == 6 * 64 * 512 == 196608
    assert flops.total == pytest.approx(589824 + 98304 + 196608) == 884736
    assert flops.to_dict() == {"matmul": 589824, "attention": pytest.approx(98304),
                               "output_layer": 196608, "total": pytest.approx(884736)}
    untied = training_flops_per_token(ModelConfig(**SMALL, tie_word_embeddings=False), seq_len=128)
    assert untied == flops


def test_sliding_window_attention_flops_by_hand():
    config = ModelConfig(**SMALL, sliding_window=32)
    flops = training_flops_per_token(config, seq_len=128)
    # keys per query: the band's area over seq_len, 32 - 32^2 / (2 * 128) = 32 - 4 = 28;
    # 3 (fwd + bwd) * 2 layers * 4 FLOPs per key and channel * 64 channels * 28 keys
    assert flops.attention == pytest.approx(3 * 2 * 4 * 64 * 28) == 43008
    assert flops.matmul == 589824
    # a window as long as the sequence is plain causal attention
    assert (training_flops_per_token(ModelConfig(**SMALL, sliding_window=128), seq_len=128).attention
            == pytest.approx(98304))
    assert (training_flops_per_token(ModelConfig(**SMALL, sliding_window=1024), seq_len=128).attention
            == pytest.approx(98304))


@pytest.mark.parametrize("seq_len", [0, -1, 2.5, None])
def test_seq_len_must_be_a_positive_integer(seq_len):
    with pytest.raises(ConfigError, match="seq_len"):
        training_flops_per_token(ModelConfig(**SMALL), seq_len)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("kv_heads", [4, 2])
def test_parameter_counts_equal_the_built_model(tied, kv_heads):
    config = ModelConfig(**{**SMALL, "num_key_value_heads": kv_heads}, tie_word_embeddings=tied)
    model = Transformer(config)
    counts = count_parameters(config)
    embedding = model.model.embed_tokens.weight.numel()
    if not tied:
        assert model.lm_head.weight is not model.model.embed_tokens.weight
        embedding += model.lm_head.weight.numel()
    embedding_params = {id(model.model.embed_tokens.weight), id(model.lm_head.weight)}
    non_embedding = sum(p.numel() for p in model.parameters() if id(p) not in embedding_params)

    assert counts.total == sum(p.numel() for p in model.parameters())
    assert counts.embedding == embedding == 512 * 64 * (1 if tied else 2)
    assert counts.non_embedding == non_embedding
    assert counts.total == counts.embedding + counts.non_embedding
    assert counts.to_dict() == {"total": counts.total, "non_embedding": counts.non_embedding,
                                "embedding": counts.embedding}


def test_parameter_count_by_hand():
    counts = count_parameters(ModelConfig(**SMALL))
    # per layer: linear maps 49152 (above) + two RMSNorm weights 2 * 64 = 128 -> 49280;
    # 2 layers -> 98560, plus the final RMSNorm 64 -> 98624; tied embedding 512 * 64 = 32768
    assert counts.non_embedding == 98624
    assert counts.embedding == 32768
    assert counts.total == 131392
