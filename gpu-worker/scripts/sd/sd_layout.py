"""The model directory the diffq worker's Stable Diffusion model loads (shared by the exporter and the
test-fixture generator, so both write exactly the same layout).

    text_encoder.pt   forward(input_ids: int64[N, L]) -> float32[N, L, D]         (last hidden state)
    unet.pt           forward(sample: float32[N, C, h, w], timestep: int64[N],
                              encoder_hidden_states: float32[N, L, D]) -> float32[N, C, h, w]
    vae_decoder.pt    forward(latents: float32[N, C, h, w]) -> float32[N, 3, f*h, f*w]  (about [-1, 1])
    tokenizer.json    a Hugging Face `tokenizers` file (the worker never fetches one by name)
    model.properties  what the worker needs to drive them (schedule, prediction, latent scaling, sizes)

Inputs and outputs are float32 and int64 whatever precision the modules compute in, so a float16 GPU
export keeps the same interface (the wrappers cast inside).
"""
import json
import shutil
from pathlib import Path

import torch

# Stable Diffusion 1.x defaults; model.properties overrides any of them.
DEFAULTS = {
    "prediction": "epsilon",           # epsilon | v
    "schedule": "scaled-linear",       # scaled-linear | linear
    "beta-start": "0.00085",
    "beta-end": "0.012",
    "train-timesteps": "1000",
    "latent-channels": "4",
    "vae-scale-factor": "8",
    "scaling-factor": "0.18215",
    "text-max-length": "77",
    "pad-token": "<|endoftext|>",
    "default-size": "512",
    "min-size": "256",
    "max-size": "1024",
    "size-multiple": "64",
    "default-guidance": "7.5",
}


def write_model_dir(out, text_encoder, unet, vae_decoder, tokenizer_json, properties, example_latent=(64, 64),
                    hidden_dim=768, device="cpu"):
    """Saves three TorchScript modules, the tokenizer and model.properties into `out`, after checking
    that each module honours the signatures above on an example batch of 2 (what the worker sends:
    the conditional and unconditional inputs together)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    props = dict(DEFAULTS)
    props.update({k: str(v) for k, v in properties.items()})
    length = int(props["text-max-length"])
    channels = int(props["latent-channels"])
    factor = int(props["vae-scale-factor"])
    h, w = example_latent

    ids = torch.zeros(2, length, dtype=torch.int64, device=device)
    with torch.inference_mode():
        _check(text_encoder, unet, vae_decoder, ids, length, channels, factor, h, w, hidden_dim, device)

    text_encoder.save(str(out / "text_encoder.pt"))
    unet.save(str(out / "unet.pt"))
    vae_decoder.save(str(out / "vae_decoder.pt"))
    if isinstance(tokenizer_json, dict):
        (out / "tokenizer.json").write_text(json.dumps(tokenizer_json, indent=1) + "\n")
    else:
        shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    lines = ["# Stable Diffusion model directory for the diffq worker (see gpu-worker/scripts/sd/sd_layout.py)"]
    lines += [f"{k}={v}" for k, v in sorted(props.items())]
    (out / "model.properties").write_text("\n".join(lines) + "\n")
    return out


def _check(text_encoder, unet, vae_decoder, ids, length, channels, factor, h, w, hidden_dim, device):
    hidden = text_encoder(ids)
    assert hidden.dtype == torch.float32 and tuple(hidden.shape[:2]) == (2, length), hidden.shape
    assert hidden.shape[2] == hidden_dim, f"text encoder width {hidden.shape[2]}, expected {hidden_dim}"
    sample = torch.randn(2, channels, h, w, device=device)
    eps = unet(sample, torch.tensor([999, 999], dtype=torch.int64, device=device), hidden)
    assert eps.dtype == torch.float32 and eps.shape == sample.shape, eps.shape
    image = vae_decoder(sample[:1])
    assert image.dtype == torch.float32 and tuple(image.shape) == (1, 3, factor * h, factor * w), image.shape
