"""Many real models against oracles that owe nothing to the tracer.

* Every torchvision classification architecture against the parameter count and the
  GMACs torchvision publishes for its weights (``weights.meta``, shipped inside the
  package: nothing is downloaded), summarised on the meta device at the weights' crop.
* On the CPU, a set of torchvision classifiers, detectors, segmenters and video models,
  and Hugging Face architectures built from tiny configs (transformers of every kind,
  a state-space model, hierarchical vision models, speech models):

  - ``model.parameters()`` (and Hugging Face's ``num_parameters()``) for the total;
  - autograd for which parameters were used (a backward pass from the outputs);
  - torch's own ``FlopCounterMode`` for the mult-adds, with attention run by its math
    kernel so that the counter sees its two products (it has no formula for the fused
    CPU kernel, nor for ``nn.MultiheadAttention``'s fused fast path, hence grad on);
  - the audit fixture: the model is left exactly as it was found.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torchvision
import transformers
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from modelsummary import summary
from tests.conftest import backward_reached, check_invariants, unique_numel, used_names

M = torchvision.models

# RegNets compute their stage widths from tensor values while they are built, which the
# meta device does not have: they are built on the CPU (regnet_y_128gf, 644M parameters,
# takes about ten seconds) and summarised on meta like the others.
_CLASSIFIERS = M.list_models(module=M)


def _published(name: str, model: nn.Module) -> tuple[Any, int]:
    """The first weights whose crop size the model as built accepts, and that crop."""
    for weights in M.get_model_weights(name):
        crop = int(weights.transforms().crop_size[0])
        if getattr(model, "image_size", crop) == crop:  # vit_h_14: SWAG E2E is 518 only
            return weights, crop
    raise AssertionError(f"no published weights fit {name} as built")


@pytest.mark.parametrize("name", _CLASSIFIERS)
def test_torchvision_classifier_matches_its_published_params_and_gmacs(name):
    kwargs = {"init_weights": False} if name in ("googlenet", "inception_v3") else {}
    if name.startswith("regnet"):
        model = M.get_model(name).eval()
    else:
        with torch.device("meta"):
            model = M.get_model(name, **kwargs).eval()
    weights, crop = _published(name, model)
    s = summary(model, (1, 3, crop, crop), device="meta", verbose=0)
    check_invariants(s, model)
    if name == "googlenet":  # built with its auxiliary classifiers, which eval never calls;
        # the published weights come without them
        aux = unique_numel([*model.aux1.parameters(), *model.aux2.parameters()])
        assert (s.total_params, s.unused_params) == (weights.meta["num_params"], aux)
        assert {path.split(".")[0] for path in s.unused_modules} == {"aux1", "aux2"}
    elif name == "inception_v3":  # the published weights keep theirs: unused in eval
        assert s.all_params == weights.meta["num_params"]
        assert s.unused_params == unique_numel(model.AuxLogits.parameters())
        assert {path.split(".")[0] for path in s.unused_modules} == {"AuxLogits"}
    else:
        assert s.total_params == s.all_params == weights.meta["num_params"]
    assert round(s.total_mult_adds / 1e9, 3) == weights.meta["_ops"]
    assert s.uncounted_ops == {}


# -- the CPU, against autograd and torch's FlopCounterMode ------------------------------
def _flop_counter_macs(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    with FlopCounterMode(display=False) as counter, sdpa_kernel(SDPBackend.MATH):
        model(*args, **kwargs)
    return counter.get_total_flops() // 2


def _check_against_oracles(
    model: nn.Module,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    autograd: bool = True,
    extra_macs: int = 0,
) -> Any:
    kwargs = kwargs or {}
    s = summary(model, input_data=[*args] if args else kwargs, verbose=0)
    check_invariants(s, model)
    assert s.uncounted_ops == {}
    assert s.total_mult_adds == _flop_counter_macs(model, args, kwargs) + extra_macs
    if autograd:  # parameters the pass used, by autograd; frozen ones it cannot see
        trainable = {n for n, p in model.named_parameters() if p.requires_grad}
        assert used_names(s) & trainable == backward_reached(model, *args, **kwargs)
    return s


_IMAGE = (1, 3, 64, 64)
_CPU_CLASSIFIERS: dict[str, tuple[int, ...]] = {
    "resnet18": _IMAGE,
    "mobilenet_v3_small": _IMAGE,
    "efficientnet_b0": _IMAGE,
    "convnext_tiny": _IMAGE,
    "densenet121": _IMAGE,
    "shufflenet_v2_x0_5": _IMAGE,
    "squeezenet1_1": _IMAGE,
    "regnet_y_400mf": _IMAGE,
    "swin_t": _IMAGE,
    "googlenet": _IMAGE,
    "inception_v3": (1, 3, 96, 96),
    "maxvit_t": (1, 3, 224, 224),
    "vit_b_32": (1, 3, 224, 224),  # nn.MultiheadAttention
}


@pytest.mark.parametrize("name", list(_CPU_CLASSIFIERS))
def test_torchvision_classifier_on_cpu_agrees_with_autograd_and_the_flop_counter(audit, name):
    torch.manual_seed(0)
    kwargs = {"init_weights": False} if name in ("googlenet", "inception_v3") else {}
    model = M.get_model(name, **kwargs).eval()
    x = torch.rand(_CPU_CLASSIFIERS[name])
    _check_against_oracles(audit(model), (x,))


def _images(n: int = 1, size: int = 128) -> list[torch.Tensor]:
    return [torch.rand(3, size, size) for _ in range(n)]


_CPU_OTHERS: dict[str, tuple[Callable[[], nn.Module], Callable[[], tuple[Any, ...]]]] = {
    "fasterrcnn_mobilenet_v3_large_320_fpn": (
        lambda: M.detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights_backbone=None),
        lambda: (_images(),),
    ),
    "ssdlite320_mobilenet_v3_large": (
        lambda: M.detection.ssdlite320_mobilenet_v3_large(weights_backbone=None),
        lambda: (_images(),),
    ),
    "lraspp_mobilenet_v3_large": (
        lambda: M.segmentation.lraspp_mobilenet_v3_large(weights_backbone=None),
        lambda: (torch.rand(1, 3, 64, 64),),
    ),
    "r3d_18": (M.video.r3d_18, lambda: (torch.rand(1, 3, 4, 32, 32),)),
    "swin3d_t": (M.video.swin3d_t, lambda: (torch.rand(1, 3, 4, 64, 64),)),
}


@pytest.mark.parametrize("name", list(_CPU_OTHERS))
def test_torchvision_detection_segmentation_and_video_agree_with_the_flop_counter(audit, name):
    build, inputs = _CPU_OTHERS[name]
    torch.manual_seed(0)
    model = build().eval()
    args = inputs()
    audit(model)
    # A detector's boxes are picked by score (top-k, NMS): the scores' weights are used
    # without a gradient path to the output, so autograd is no oracle for them.
    detector = name.startswith(("fasterrcnn", "ssdlite"))
    s = _check_against_oracles(model, args, autograd=not detector)
    assert s.unused_params == 0


def test_deformable_convolution_counts_a_convolutions_products(audit):
    conv = torchvision.ops.DeformConv2d(4, 6, 3, padding=1)
    x = torch.rand(2, 4, 8, 8)
    offset = torch.rand(2, 2 * 9, 8, 8)
    s = summary(audit(conv), input_data=[x, offset], verbose=0)
    assert s.uncounted_ops == {}
    assert s.total_mult_adds == 2 * 6 * 8 * 8 * (4 * 3 * 3)  # out elements x C_in x k x k


# -- Hugging Face architectures from tiny configs --------------------------------------
_SMALL = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "vocab_size": 100,
    "max_position_embeddings": 64,
}
_VISION = {k: v for k, v in _SMALL.items() if k not in ("vocab_size", "max_position_embeddings")}
_SEQ2SEQ = {
    "d_model": 32,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 4,
    "decoder_attention_heads": 4,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "vocab_size": 100,
}
_TOKENS = (2, 8)
T = transformers


def _token_ids(ids: torch.Tensor) -> dict[str, Any]:
    return {"input_ids": ids}


_HF: dict[str, tuple[Callable[[], nn.Module], Callable[[torch.Tensor], dict[str, Any]]]] = {
    "bert": (lambda: T.BertModel(T.BertConfig(**_SMALL)), _token_ids),
    "roberta": (lambda: T.RobertaModel(T.RobertaConfig(**_SMALL)), _token_ids),
    "distilbert": (
        lambda: T.DistilBertModel(
            T.DistilBertConfig(dim=32, n_layers=2, n_heads=4, hidden_dim=64, vocab_size=100)
        ),
        _token_ids,
    ),
    "albert": (  # one layer's weights, called once per layer
        lambda: T.AlbertModel(T.AlbertConfig(embedding_size=16, **_SMALL)),
        _token_ids,
    ),
    "electra": (
        lambda: T.ElectraModel(T.ElectraConfig(embedding_size=16, **_SMALL)),
        _token_ids,
    ),
    "deberta_v2": (
        lambda: T.DebertaV2Model(T.DebertaV2Config(**_SMALL)),
        _token_ids,
    ),
    "gpt2": (
        lambda: T.GPT2LMHeadModel(
            T.GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=100, n_positions=64)
        ),
        _token_ids,
    ),
    "gpt_neox": (
        lambda: T.GPTNeoXForCausalLM(T.GPTNeoXConfig(**_SMALL)),
        _token_ids,
    ),
    "opt": (
        lambda: T.OPTForCausalLM(T.OPTConfig(**_SMALL, ffn_dim=64, word_embed_proj_dim=32)),
        _token_ids,
    ),
    "llama": (
        lambda: T.LlamaForCausalLM(T.LlamaConfig(**_SMALL, num_key_value_heads=2)),
        _token_ids,
    ),
    "mistral": (
        lambda: T.MistralForCausalLM(T.MistralConfig(**_SMALL, num_key_value_heads=2)),
        _token_ids,
    ),
    "qwen2": (
        lambda: T.Qwen2ForCausalLM(T.Qwen2Config(**_SMALL, num_key_value_heads=2)),
        _token_ids,
    ),
    "gemma": (  # tied input and output embeddings
        lambda: T.GemmaForCausalLM(T.GemmaConfig(**_SMALL, num_key_value_heads=2, head_dim=8)),
        _token_ids,
    ),
    "phi": (lambda: T.PhiForCausalLM(T.PhiConfig(**_SMALL)), _token_ids),
    "falcon": (
        lambda: T.FalconForCausalLM(
            T.FalconConfig(
                hidden_size=32, num_hidden_layers=2, num_attention_heads=4, vocab_size=100
            )
        ),
        _token_ids,
    ),
    "bloom": (  # attention scores from alibi.baddbmm(batch1=..., batch2=...)
        lambda: T.BloomForCausalLM(
            T.BloomConfig(hidden_size=32, n_layer=2, n_head=4, vocab_size=100)
        ),
        _token_ids,
    ),
    "t5": (
        lambda: T.T5ForConditionalGeneration(
            T.T5Config(d_model=32, d_ff=64, num_layers=2, num_heads=4, d_kv=8, vocab_size=100)
        ),
        lambda ids: {"input_ids": ids, "decoder_input_ids": ids},
    ),
    "bart": (
        lambda: T.BartModel(T.BartConfig(**_SEQ2SEQ, max_position_embeddings=64)),
        _token_ids,
    ),
    "whisper": (  # its encoder's positional embedding is frozen
        lambda: T.WhisperModel(
            T.WhisperConfig(
                **_SEQ2SEQ,
                pad_token_id=0,
                bos_token_id=1,
                eos_token_id=2,
                decoder_start_token_id=1,
                num_mel_bins=16,
                max_source_positions=32,
                max_target_positions=32,
            )
        ),
        lambda ids: {"input_features": torch.rand(2, 16, 64), "decoder_input_ids": ids},
    ),
    "vit": (
        lambda: T.ViTModel(T.ViTConfig(**_VISION, image_size=32, patch_size=8)),
        lambda ids: {"pixel_values": torch.rand(2, 3, 32, 32)},
    ),
    "clip": (
        lambda: T.CLIPModel(
            T.CLIPConfig(
                text_config=_SMALL,
                vision_config={**_VISION, "image_size": 32, "patch_size": 8},
                projection_dim=16,
            )
        ),
        lambda ids: {"input_ids": ids, "pixel_values": torch.rand(2, 3, 32, 32)},
    ),
    "wav2vec2": (  # a weight-normed positional convolution; masked_spec_embed unused
        lambda: T.Wav2Vec2Model(
            T.Wav2Vec2Config(
                **_VISION,
                conv_dim=(16, 16),
                conv_stride=(5, 2),
                conv_kernel=(10, 3),
                num_conv_pos_embeddings=16,
                num_conv_pos_embedding_groups=4,
            )
        ),
        lambda ids: {"input_values": torch.rand(2, 800)},
    ),
    "mamba": (  # a selective state-space scan instead of attention
        lambda: T.MambaForCausalLM(
            T.MambaConfig(
                hidden_size=32, num_hidden_layers=2, vocab_size=100, state_size=8, conv_kernel=4
            )
        ),
        _token_ids,
    ),
    "swin": (
        lambda: T.SwinModel(
            T.SwinConfig(
                image_size=32,
                patch_size=4,
                embed_dim=16,
                depths=[1, 1],
                num_heads=[2, 2],
                window_size=4,
            )
        ),
        lambda ids: {"pixel_values": torch.rand(2, 3, 32, 32)},
    ),
    "segformer": (
        lambda: T.SegformerModel(
            T.SegformerConfig(
                num_encoder_blocks=2,
                depths=[1, 1],
                sr_ratios=[2, 1],
                hidden_sizes=[16, 32],
                patch_sizes=[7, 3],
                strides=[4, 2],
                num_attention_heads=[1, 2],
                mlp_ratios=[2, 2],
            )
        ),
        lambda ids: {"pixel_values": torch.rand(2, 3, 32, 32)},
    ),
    "dinov2": (  # its mask token is only used to mask patches
        lambda: T.Dinov2Model(T.Dinov2Config(**_VISION, image_size=32, patch_size=8)),
        lambda ids: {"pixel_values": torch.rand(2, 3, 32, 32)},
    ),
    "longformer": (  # the global-attention projections: never called without global tokens
        lambda: T.LongformerModel(T.LongformerConfig(**_SMALL, attention_window=4)),
        _token_ids,
    ),
}

# Parameters each architecture leaves unused in plain inference, found by name here
# (autograd agrees, in _check_against_oracles); none for the others.
_UNUSED_IN_INFERENCE: dict[str, Callable[[str], bool]] = {
    "wav2vec2": lambda name: name == "masked_spec_embed",  # masks time steps in training
    "dinov2": lambda name: name == "embeddings.mask_token",
    "longformer": lambda name: "_global." in name,
}


@pytest.fixture(autouse=True)
def _quiet_transformers():
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield
    transformers.logging.set_verbosity(verbosity)


@pytest.mark.parametrize("name", list(_HF))
def test_hugging_face_architecture_agrees_with_autograd_and_the_flop_counter(audit, name):
    build, inputs = _HF[name]
    torch.manual_seed(0)
    model = build().eval()
    kwargs = inputs(torch.randint(0, 100, _TOKENS))
    audit(model)
    s = _check_against_oracles(model, kwargs=kwargs)
    assert s.all_params == model.num_parameters()
    unused = _UNUSED_IN_INFERENCE.get(name, lambda _: False)
    assert s.unused_params == sum(p.numel() for n, p in model.named_parameters() if unused(n))
    if name == "longformer":  # never called: listed as unused modules
        assert {p.rpartition(".")[2] for p in s.unused_modules} == {
            "query_global",
            "key_global",
            "value_global",
        }


def test_mixture_of_experts_counts_each_tokens_experts():
    """Mixtral's experts run as one grouped product per projection, which torch's flop
    counter does not count: each token goes through ``top_k`` experts of three
    ``hidden x intermediate`` projections, and the summary adds exactly that."""
    hidden, inter, layers, top_k = 32, 64, 2, 2
    config = T.MixtralConfig(
        **{**_SMALL, "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": 2},
        num_key_value_heads=2,
        num_local_experts=8,
        num_experts_per_tok=top_k,
    )
    torch.manual_seed(0)
    model = T.MixtralForCausalLM(config).eval()
    ids = torch.randint(0, 100, _TOKENS)
    tokens = ids.numel()
    experts = layers * tokens * top_k * 3 * hidden * inter
    s = _check_against_oracles(model, kwargs={"input_ids": ids}, extra_macs=experts)
    assert s.all_params == model.num_parameters()
