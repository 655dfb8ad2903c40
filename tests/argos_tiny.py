"""Build small but *valid* Argos Translate packages (.argosmodel) offline.

No real model can be downloaded here, so tests and the benchmark make their own:

1. a SentencePiece model trained in memory on a handful of sentences;
2. a CTranslate2 Transformer whose weights are seeded random numbers (the
   ``ctranslate2.specs.TransformerSpec`` API, the same one the converters use);
3. ``metadata.json`` as Argos writes it;
4. all of it zipped as ``<name>/...`` inside ``<name>.argosmodel``, the layout
   ``argostranslate.package.install_from_path`` expects.

The "translations" are nonsense, but deterministic: same input, same output.
Used by tests/test_translation.py (tiny size, milliseconds) and
bench/bench_translation.py (real size: 6+6 layers, d_model 512).
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sentencepiece as spm
from ctranslate2.specs import common_spec, transformer_spec


@dataclass(frozen=True, slots=True)
class ModelSize:
    encoder_layers: int = 1
    decoder_layers: int = 1
    d_model: int = 32
    heads: int = 2
    ffn: int = 64
    vocab_size: int = 320
    # A random model never stops by itself (it decodes max_decoding_length tokens).
    # Either bias the </s> logit (outputs then have geometric lengths with a long
    # tail), or, with output_tokens, wire a "clock" so that every output has exactly
    # that many tokens and </s> is predicted with near certainty, as a trained model
    # does: greedy and beam search then stop at the same step, like real models.
    eos_bias: float = 0.0
    output_tokens: int | None = 5
    quantization: str | None = None  # e.g. "int8", as real Argos models ship


TINY = ModelSize()
# The size of the real Argos models (OpenNMT-py transformer base).
REAL = ModelSize(
    encoder_layers=6,
    decoder_layers=6,
    d_model=512,
    heads=8,
    ffn=2048,
    vocab_size=32000,
    eos_bias=0.0,
    # ~ the mean SentencePiece length of the benchmark's sv and zh sentences
    output_tokens=32,
    quantization="int8",
)

LANGUAGE_NAMES = {"sv": "Swedish", "zh": "Chinese", "en": "English", "de": "German"}

# A few dozen sentences per language: enough for a tiny SentencePiece vocabulary.
SAMPLE_TEXT: dict[str, tuple[str, ...]] = {
    "sv": (
        "Regeringen skärper exportkontrollen av avancerade halvledare.",
        "Företaget säger att det följer alla sanktioner mot Ryssland.",
        "Tullverket beslagtog tusentals chip i Göteborgs hamn i går.",
        "Enligt bl.a. Reuters ökade smugglingen kraftigt under våren.",
        "Kina svarar med egna exportrestriktioner på sällsynta jordartsmetaller.",
        "Det handlar om t.ex. grafikprocessorer från Nvidia och AMD.",
        "Ministern vill inte kommentera uppgifterna.",
        "Handeln med Hongkong har fördubblats på ett år.",
        "Experter varnar för att kontrollerna är svåra att upprätthålla.",
        "Nyheten publicerades först av Dagens industri.",
        "Priset på minneskretsar steg med 3,5 procent.",
        "Amerikanska myndigheter utreder ärendet.",
        "Sverige och EU diskuterar nya regler för teknikexport.",
        "Bolaget har kontor i Stockholm, Shanghai och Shenzhen.",
        "Det är oklart hur många kretsar som har sålts vidare.",
        "Tio miljarder i smuggelchips på bara tre månader.",
    ),
    "zh": (
        "美国商务部加强了对先进芯片的出口管制。",
        "中国地下黑市的芯片交易正在形成。",
        "英伟达表示将遵守所有出口规定。",
        "这些芯片通过香港和新加坡转运到中国大陆。",
        "专家警告说，管制措施难以执行。",
        "半导体设备的销售额同比增长了百分之一。",
        "中芯国际的芯片制造能力落后于台积电三年。",
        "荷兰政府限制阿斯麦向中国出口光刻机。",
        "日本也宣布了新的出口限制措施。",
        "记者联系了该公司，但没有得到回复。",
        "规避美国晶片出口管制的行为越来越多。",
        "中国学者宣布不再接受采访。",
        "官方对舆论的监管不断收紧。",
        "这家公司在深圳和上海设有办事处。",
        "价格上涨了百分之三点五。",
        "我们正在调查这个问题。",
    ),
    "en": (
        "The United States tightened export controls on advanced chips.",
        "The company said it complies with all sanctions.",
        "Customs officers seized thousands of processors at the port.",
        "Experts warn that the controls are hard to enforce.",
        "Prices of memory chips rose by 3.5 percent.",
        "Dr. Smith works for the U.S. Department of Commerce.",
        "China responded with its own restrictions on rare earths.",
        "The story was first reported by Reuters.",
    ),
}


def sample_text(code: str) -> tuple[str, ...]:
    return SAMPLE_TEXT.get(code, SAMPLE_TEXT["en"])


def train_sentencepiece(
    lines: Iterable[str], vocab_size: int, *, model_type: str = "unigram"
) -> bytes:
    """Train a SentencePiece model in memory and return its serialized bytes.

    ``hard_vocab_limit=False`` lets a small corpus yield fewer pieces than asked.
    """
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(lines)),
        model_writer=buffer,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=0.9995,
        hard_vocab_limit=False,
        num_threads=2,
        minloglevel=2,
        max_sentence_length=20000,
        input_sentence_size=200000,
        shuffle_input_sentence=True,
    )
    return buffer.getvalue()


def _normal(rng: np.random.Generator, *shape: int, scale: float) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _fill_layer_norm(spec: common_spec.LayerNormSpec, d: int) -> None:
    spec.gamma = np.ones(d, dtype=np.float32)
    spec.beta = np.zeros(d, dtype=np.float32)


def _fill_linear(
    spec: common_spec.LinearSpec, rng: np.random.Generator, out_dim: int, in_dim: int
) -> None:
    spec.weight = _normal(rng, out_dim, in_dim, scale=1.0 / np.sqrt(in_dim))
    spec.bias = np.zeros(out_dim, dtype=np.float32)


def random_transformer(vocabulary: list[str], size: ModelSize, seed: int) -> object:
    """A CTranslate2 TransformerSpec of the given size with seeded random weights."""
    rng = np.random.default_rng(seed)
    d, ffn, vocab = size.d_model, size.ffn, len(vocabulary)
    spec = transformer_spec.TransformerSpec.from_config(
        (size.encoder_layers, size.decoder_layers), size.heads
    )

    def fill_attention(att: object, self_attention: bool) -> None:
        _fill_layer_norm(att.layer_norm, d)  # type: ignore[attr-defined]
        linears = att.linear  # type: ignore[attr-defined]
        if self_attention:  # fused q,k,v then output
            _fill_linear(linears[0], rng, 3 * d, d)
            _fill_linear(linears[1], rng, d, d)
        else:  # query, fused k,v, output
            _fill_linear(linears[0], rng, d, d)
            _fill_linear(linears[1], rng, 2 * d, d)
            _fill_linear(linears[2], rng, d, d)

    def fill_ffn(ff: object) -> None:
        _fill_layer_norm(ff.layer_norm, d)  # type: ignore[attr-defined]
        _fill_linear(ff.linear_0, rng, ffn, d)  # type: ignore[attr-defined]
        _fill_linear(ff.linear_1, rng, d, ffn)  # type: ignore[attr-defined]

    encoder, decoder = spec.encoder, spec.decoder
    encoder.embeddings[0].weight = _normal(rng, vocab, d, scale=1.0 / np.sqrt(d))
    _fill_layer_norm(encoder.layer_norm, d)
    for layer in encoder.layer:
        fill_attention(layer.self_attention, True)
        fill_ffn(layer.ffn)

    decoder.embeddings.weight = _normal(rng, vocab, d, scale=1.0 / np.sqrt(d))
    _fill_layer_norm(decoder.layer_norm, d)
    for layer in decoder.layer:
        fill_attention(layer.self_attention, True)
        fill_attention(layer.attention, False)
        fill_ffn(layer.ffn)
    _fill_linear(decoder.projection, rng, vocab, d)
    eos = vocabulary.index("</s>")
    decoder.projection.bias[eos] = size.eos_bias
    if size.output_tokens is not None:
        _wire_clock(decoder, d, eos, size.output_tokens)

    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    spec.validate()
    spec.optimize(quantization=size.quantization)
    return spec


def _wire_clock(decoder: object, d: int, eos: int, output_tokens: int) -> None:
    """Make </s> certain at decoder position ``output_tokens`` and impossible before.

    The last model dimension becomes a clock that nothing but the (learned)
    decoder position table writes: 0 before the stop position, 50 from it on.
    After the final layer norm it dominates the </s> logit, which no other
    dimension feeds. All layers still run at full size, so the cost per token is
    that of a real model.
    """
    k = d - 1
    positions = np.arange(1024, dtype=np.float32)[:, None]
    rates = 1.0 / np.power(10000.0, np.arange(0, d, 2, dtype=np.float32) / d)
    table = np.concatenate([np.sin(positions * rates), np.cos(positions * rates)], axis=1)[:, :d]
    table[:, k] = np.where(positions[:, 0] >= output_tokens, 50.0, 0.0)
    decoder.position_encodings.encodings = table.astype(np.float32)  # type: ignore[attr-defined]
    decoder.embeddings.weight[:, k] = 0.0  # type: ignore[attr-defined]
    for layer in decoder.layer:  # type: ignore[attr-defined]
        for linear in (layer.self_attention.linear[1], layer.attention.linear[2], layer.ffn.linear_1):
            linear.weight[k, :] = 0.0
            linear.bias[k] = 0.0
    projection = decoder.projection  # type: ignore[attr-defined]
    projection.weight[:, k] = 0.0
    projection.weight[eos, :] = 0.0
    projection.weight[eos, k] = 20.0


def build_argosmodel(
    out_dir: Path,
    from_code: str,
    to_code: str,
    *,
    size: ModelSize = TINY,
    training_text: Iterable[str] | None = None,
    seed: int = 0,
    package_version: str = "1.0",
) -> Path:
    """Write ``translate-<from>_<to>-<version>.argosmodel`` into ``out_dir``; return its path."""
    lines = list(training_text) if training_text is not None else [
        *sample_text(from_code),
        *sample_text(to_code),
    ]
    sp_bytes = train_sentencepiece(lines, size.vocab_size)
    processor = spm.SentencePieceProcessor(model_proto=sp_bytes)
    vocabulary = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    # A small corpus yields fewer pieces than asked; pad the model's vocabulary so
    # that its embedding and output layers have the requested (real) size.
    vocabulary += [f"▁tok{i}" for i in range(len(vocabulary), size.vocab_size)]

    name = f"translate-{from_code}_{to_code}-{package_version.replace('.', '_')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / name
        (root / "model").mkdir(parents=True)
        spec = random_transformer(vocabulary, size, seed)
        spec.save(str(root / "model"))  # type: ignore[attr-defined]
        (root / "sentencepiece.model").write_bytes(sp_bytes)
        metadata = {
            "package_version": package_version,
            "argos_version": "1.9.0",
            "from_code": from_code,
            "from_name": LANGUAGE_NAMES.get(from_code, from_code),
            "to_code": to_code,
            "to_name": LANGUAGE_NAMES.get(to_code, to_code),
            "type": "translate",
            "links": [],
        }
        (root / "metadata.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        (root / "README.md").write_text(
            f"Random-weight test model {from_code}->{to_code} (seed {seed}); not a translator.\n",
            encoding="utf-8",
        )
        target = out_dir / f"{name}.argosmodel"
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
            for path in sorted(root.rglob("*")):
                archive.write(path, path.relative_to(Path(tmp)).as_posix())
    return target


__all__ = [
    "REAL",
    "TINY",
    "ModelSize",
    "build_argosmodel",
    "random_transformer",
    "sample_text",
    "train_sentencepiece",
]
