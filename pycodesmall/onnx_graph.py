"""The decoder written as an ONNX graph of ONNX Runtime's fused transformer operators.

For a model this small a decode step costs little arithmetic, so its time goes to the
number of operators run and to bytes moved. Tracing the torch module gave ~400 small
nodes per step and a KV cache that grew by concatenation (past + new copied into a fresh
tensor at every step, then K transposed again for the product). This graph has 13 nodes
a layer and keeps the cache in place:

    SkipSimplifiedLayerNormalization   residual add + RMSNorm in one node
    MatMul, Split                      fused q/k/v (and gate/up) projections
    RotaryEmbedding                    rotary positions from `position_ids` (left padding
                                       shifts them, so they are never inferred)
    GroupQueryAttention                writes the new keys/values into the cache buffer at
                                       slot `total_sequence_length - S` and attends over
                                       the filled slots; `attention_bias` masks padding
                                       and the sliding window

Inputs and outputs (B batch, S new tokens, C capacity of the cache, T = filled + S):

    input_ids (B, S) int64            position_ids (B, S) int64
    attention_bias (B, 1, S, T)       0 where a query may attend, the dtype's minimum elsewhere
    seqlens_k (B,) int32              T - 1 for every row (rows share one slot layout)
    total_sequence_length () int32    T
    logits_index (K,) int64           which of the S positions get logits
    past.{i}.key / past.{i}.value     (B, n_kv_heads, C, head_dim), bound as the outputs
                                      present.{i}.key / present.{i}.value: one buffer each
    logits (B, K, vocab) float32

Numbers follow `pycodesmall.model.Transformer` (its fused inference weights); the tests
hold the two to 1e-4.
"""

from __future__ import annotations

import numpy as np
import torch

from pycodesmall.config import ModelConfig
from pycodesmall.errors import ConfigError
from pycodesmall.model import Transformer, rope_cache

__all__ = ["build_decoder", "cache_names", "GRAPH_LAYOUT", "OPSET"]

MS_DOMAIN = "com.microsoft"
OPSET = 23  # RMSNormalization
GRAPH_LAYOUT = 3  # raised whenever the graph changes: exports of an older layout are re-made


def cache_names(config: ModelConfig, kind: str) -> list[str]:
    return [f"{kind}.{i}.{kv}" for i in range(config.num_hidden_layers) for kv in ("key", "value")]


def check_exportable(config: ModelConfig) -> None:
    """ONNX Runtime's CPU GroupQueryAttention kernel works on head sizes that are multiples of 16."""
    if config.head_dim % 16:
        raise ConfigError(f"the ONNX export needs head_dim to be a multiple of 16 "
                          f"(ONNX Runtime's attention kernel); this model has {config.head_dim}")


def build_decoder(model: Transformer, dtype: torch.dtype):
    """The `onnx.ModelProto` of `model` (in eval mode) with weights cast to `dtype`."""
    from onnx import TensorProto, helper, numpy_helper

    c = model.config
    check_exportable(c)
    model = model.eval().fuse_for_inference()
    elem = {torch.float32: TensorProto.FLOAT, torch.float16: TensorProto.FLOAT16}[dtype]
    nodes, initializers = [], []

    def weight(name: str, tensor: torch.Tensor) -> str:
        initializers.append(numpy_helper.from_array(tensor.detach().to(dtype).cpu().numpy(), name))
        return name

    def node(op: str, inputs: list[str], outputs: list[str], domain: str = "", **attributes) -> list[str]:
        nodes.append(helper.make_node(op, inputs, outputs, name=f"{outputs[0]}/{op}", domain=domain,
                                      **attributes))
        return outputs

    cos, sin = rope_cache(c, torch.arange(c.max_position_embeddings))  # (P, head_dim), halves repeated
    half = c.head_dim // 2
    weight("rope.cos", cos[:, :half])
    weight("rope.sin", sin[:, :half])
    for name, sizes in (("split.qkv", [c.num_attention_heads * c.head_dim] + 2 * [c.num_key_value_heads * c.head_dim]),
                        ("split.mlp", [c.intermediate_size] * 2)):
        initializers.append(numpy_helper.from_array(np.array(sizes, dtype=np.int64), name))

    decoder = model.model
    [hidden] = node("Gather", [weight("embed_tokens", decoder.embed_tokens.weight), "input_ids"], ["embedded"])
    residual = hidden
    [normed] = node("RMSNormalization", [hidden, weight("layers.0.input_norm",
                    decoder.layers[0].input_layernorm.weight)], ["layers.0.normed_in"],
                    axis=-1, epsilon=c.rms_norm_eps)
    for i, layer in enumerate(decoder.layers):
        p = f"layers.{i}"
        attention, mlp = layer.self_attn, layer.mlp
        [qkv] = node("MatMul", [normed, weight(f"{p}.qkv", attention.qkv_t)], [f"{p}.qkv_out"])
        q, k, v = node("Split", [qkv, "split.qkv"], [f"{p}.q", f"{p}.k", f"{p}.v"], axis=-1)
        [q] = node("RotaryEmbedding", [q, "position_ids", "rope.cos", "rope.sin"], [f"{p}.q_rot"],
                   domain=MS_DOMAIN, num_heads=c.num_attention_heads)
        [k] = node("RotaryEmbedding", [k, "position_ids", "rope.cos", "rope.sin"], [f"{p}.k_rot"],
                   domain=MS_DOMAIN, num_heads=c.num_key_value_heads)
        [attended, _, _] = node(
            "GroupQueryAttention",
            [q, k, v, f"past.{i}.key", f"past.{i}.value", "seqlens_k", "total_sequence_length",
             "", "", "", "attention_bias"],
            [f"{p}.attended", f"present.{i}.key", f"present.{i}.value"], domain=MS_DOMAIN,
            num_heads=c.num_attention_heads, kv_num_heads=c.num_key_value_heads)
        [projected] = node("MatMul", [attended, weight(f"{p}.o", attention.o_t)], [f"{p}.attn_out"])
        normed, _, _, residual = node(
            "SkipSimplifiedLayerNormalization",
            [projected, residual, weight(f"{p}.post_norm", layer.post_attention_layernorm.weight)],
            [f"{p}.normed_mid", f"{p}.mean_mid", f"{p}.inv_std_mid", f"{p}.residual_mid"],
            domain=MS_DOMAIN, epsilon=c.rms_norm_eps)
        [gate_up] = node("MatMul", [normed, weight(f"{p}.gate_up", mlp.gate_up_t)], [f"{p}.gate_up_out"])
        gate, up = node("Split", [gate_up, "split.mlp"], [f"{p}.gate", f"{p}.up"], axis=-1)
        [activated] = node("QuickGelu", [gate], [f"{p}.silu"], domain=MS_DOMAIN, alpha=1.0)  # x * sigmoid(x)
        [product] = node("Mul", [activated, up], [f"{p}.gated"])
        [down] = node("MatMul", [product, weight(f"{p}.down", mlp.down_t)], [f"{p}.mlp_out"])
        last = i == c.num_hidden_layers - 1
        next_norm = decoder.norm if last else decoder.layers[i + 1].input_layernorm
        normed, _, _, residual = node(
            "SkipSimplifiedLayerNormalization",
            [down, residual, weight("final_norm" if last else f"layers.{i + 1}.input_norm", next_norm.weight)],
            [f"{p}.normed_out", f"{p}.mean_out", f"{p}.inv_std_out", f"{p}.residual_out"],
            domain=MS_DOMAIN, epsilon=c.rms_norm_eps)
    [selected] = node("Gather", [normed, "logits_index"], ["selected"], axis=1)
    if elem == TensorProto.FLOAT:  # (a Cast to the same type is not removed: it copies)
        node("MatMul", [selected, weight("lm_head", model.lm_head_t)], ["logits"])
    else:
        [logits] = node("MatMul", [selected, weight("lm_head", model.lm_head_t)], ["logits_half"])
        node("Cast", [logits], ["logits"], to=TensorProto.FLOAT)

    kv_shape = ["batch", c.num_key_value_heads, "capacity", c.head_dim]
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "new"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "new"]),
        helper.make_tensor_value_info("attention_bias", elem, ["batch", 1, "new", "total"]),
        helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, ["batch"]),
        helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, []),
        helper.make_tensor_value_info("logits_index", TensorProto.INT64, ["selected"]),
        *[helper.make_tensor_value_info(name, elem, kv_shape) for name in cache_names(c, "past")],
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "selected", c.vocab_size]),
               *[helper.make_tensor_value_info(name, elem, kv_shape) for name in cache_names(c, "present")]]
    graph = helper.make_graph(nodes, "pycodesmall_decoder", inputs, outputs, initializers)
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(MS_DOMAIN, 1)]
    # the oldest IR version that has this opset, not the newest the installed onnx writes,
    # so that ONNX Runtime releases older than that onnx load the file
    return helper.make_model(graph, producer_name="pycodesmall", opset_imports=opsets,
                             ir_version=helper.find_min_ir_version_for(opsets, ignore_unknown=True))
