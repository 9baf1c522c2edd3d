"""Writes the Stable Diffusion test fixture the worker's tests load with DJL: TorchScript modules with
the real signatures (sd_layout.py) whose behaviour is known exactly, so a test can tell whether the Java
pipeline drives them right.

- tokenizer.json: a word-level Hugging Face tokenizer (lower-case, whitespace split, <|startoftext|> ...
  <|endoftext|>, unknown words -> <|unk|>), 77 tokens like CLIP's.
- text_encoder: each colour word's embedding carries half its RGB direction in its first three features
  (red -> (0.5, -0.5, -0.5)); every other token is zero.
- unet: the exact noise prediction for a data set of one picture per prompt: x0 has, in latent channels
  0-2, the sum of the prompt's colour vectors on the left half of the latent and 0 on the right half
  (channel 3 is 0). eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t), with Stable Diffusion's
  scaled-linear abar table. A sampler that uses the right schedule, guidance and timesteps lands on x0.
- vae_decoder: RGB = latent channels 0-2 times the scaling factor 0.18215, upsampled 8x (nearest). The
  worker divides latents by the scaling factor before decoding, so pixels come out as x0's colours.

So with guidance 1, "a red picture" at 128x64 must decode to (191, 64, 64) on the left half and grey
(128, 128, 128) on the right; guidance g mixes prompt and negative prompt as x0_neg + g (x0_pos - x0_neg).

Run with Debian's python3-torch:  /usr/bin/python3 gpu-worker/scripts/sd/make_fixtures.py
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sd_layout import write_model_dir  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "src" / "test" / "resources" / "sd-fixture"
HIDDEN = 8
SCALING = 0.18215
COLOURS = {
    "red": (1, -1, -1), "green": (-1, 1, -1), "blue": (-1, -1, 1), "yellow": (1, 1, -1),
    "cyan": (-1, 1, 1), "magenta": (1, -1, 1), "white": (1, 1, 1), "black": (-1, -1, -1),
}
SPECIAL = ["<|startoftext|>", "<|endoftext|>", "<|unk|>"]
WORDS = ["a", "an", "the", "picture", "photo", "of", "on", "in", "background"] + list(COLOURS)
VOCAB = {w: i for i, w in enumerate(SPECIAL + WORDS)}


def tokenizer():
    def special(i, t):
        return {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(0, SPECIAL[0]), special(1, SPECIAL[1])],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": SPECIAL[0], "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": SPECIAL[1], "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": SPECIAL[0], "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": SPECIAL[1], "type_id": 0}}],
            "special_tokens": {t: {"id": t, "ids": [VOCAB[t]], "tokens": [t]} for t in SPECIAL[:2]},
        },
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": VOCAB, "unk_token": "<|unk|>"},
    }


class TextEncoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        table = torch.zeros(len(VOCAB), HIDDEN)
        for word, rgb in COLOURS.items():
            table[VOCAB[word], :3] = 0.5 * torch.tensor(rgb, dtype=torch.float32)
        self.register_buffer("table", table)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.table[input_ids]


def scaled_linear_alphas_cumprod(n=1000, start=0.00085, end=0.012):
    betas = torch.linspace(start ** 0.5, end ** 0.5, n, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, dim=0)


class UNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("alphas_cumprod", scaled_linear_alphas_cumprod())

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor):
        n, c, h, w = sample.shape
        colour = encoder_hidden_states[:, :, :3].sum(dim=1)                      # (N, 3)
        left = (torch.arange(w, device=sample.device) < (w // 2)).to(sample.dtype)  # (w,)
        x0 = torch.zeros_like(sample)
        x0[:, :3] = colour[:, :, None, None] * left[None, None, None, :]
        ab = self.alphas_cumprod[timestep].to(sample.dtype)[:, None, None, None]
        return (sample - ab.sqrt() * x0) / (1 - ab).sqrt()


class VaeDecoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scaling = SCALING

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        rgb = latents[:, :3] * self.scaling
        return rgb.repeat_interleave(8, dim=2).repeat_interleave(8, dim=3)


def main():
    torch.manual_seed(0)
    write_model_dir(
        OUT,
        torch.jit.script(TextEncoder()),
        torch.jit.script(UNet()),
        torch.jit.script(VaeDecoder()),
        tokenizer(),
        {"default-size": 64, "min-size": 64, "max-size": 256, "size-multiple": 8},
        example_latent=(8, 16),
        hidden_dim=HIDDEN,
    )
    print("wrote", OUT)


if __name__ == "__main__":
    main()
