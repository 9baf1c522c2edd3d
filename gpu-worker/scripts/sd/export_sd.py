"""Exports a Stable Diffusion 1.x / 2.x checkpoint in diffusers format into the model directory the diffq
worker loads (layout and signatures: sd_layout.py).

Needs torch, diffusers and transformers (pip), and the checkpoint on local disk: the worker never downloads
anything, and neither does this script unless you pass a hub name yourself. Example, on a machine with an
NVIDIA GPU (trace on the device and in the precision the workers will use):

    python3 export_sd.py --from /models/stable-diffusion-v1-5 --out /models/diffq/sd15 \
        --device cuda --dtype float16

For CPU workers use --device cpu --dtype float32. The exported UNet is traced at --size (512 by default)
and then run at --check-size: if the traced graph gives the same answer there, model.properties allows
sizes from --min-size to --max-size; if not (shapes frozen into the trace), only --size.
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sd_layout import write_model_dir  # noqa: E402


class TextEncoder(torch.nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids):
        return self.encoder(input_ids, return_dict=False)[0].float()


class UNet(torch.nn.Module):
    def __init__(self, unet, dtype):
        super().__init__()
        self.unet = unet
        self.dtype = dtype

    def forward(self, sample, timestep, encoder_hidden_states):
        out = self.unet(sample.to(self.dtype), timestep, encoder_hidden_states.to(self.dtype), return_dict=False)[0]
        return out.float()


class VaeDecoder(torch.nn.Module):
    def __init__(self, vae, dtype):
        super().__init__()
        self.vae = vae
        self.dtype = dtype

    def forward(self, latents):
        return self.vae.decode(latents.to(self.dtype), return_dict=False)[0].float()


def main():
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPTokenizerFast

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="source", required=True, help="a local diffusers checkpoint directory")
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default="float16", choices=["float16", "float32"])
    p.add_argument("--size", type=int, default=None, help="trace size (default: the UNet's native size)")
    p.add_argument("--check-size", type=int, default=768)
    p.add_argument("--min-size", type=int, default=256)
    p.add_argument("--max-size", type=int, default=1024)
    a = p.parse_args()

    dtype = getattr(torch, a.dtype)
    device = torch.device(a.device)
    pipe = StableDiffusionPipeline.from_pretrained(a.source, torch_dtype=dtype, local_files_only=True,
                                                   safety_checker=None)
    pipe.to(device)
    factor = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    size = a.size or pipe.unet.config.sample_size * factor
    channels = pipe.unet.config.in_channels
    length = pipe.tokenizer.model_max_length
    hidden = pipe.text_encoder.config.hidden_size
    sched = pipe.scheduler.config

    with torch.inference_mode():
        ids = torch.zeros(2, length, dtype=torch.int64, device=device)
        text = torch.jit.trace(TextEncoder(pipe.text_encoder).eval(), (ids,), check_trace=False)
        states = text(ids)
        latent = torch.randn(2, channels, size // factor, size // factor, device=device)
        t = torch.tensor([999, 999], dtype=torch.int64, device=device)
        unet_module = UNet(pipe.unet, dtype).eval()
        unet = torch.jit.trace(unet_module, (latent, t, states), check_trace=False)
        vae = torch.jit.trace(VaeDecoder(pipe.vae, dtype).eval(), (latent[:1],), check_trace=False)

        other = torch.randn(2, channels, a.check_size // factor, a.check_size // factor, device=device)
        try:
            dynamic = torch.allclose(unet(other, t, states), unet_module(other, t, states), atol=2e-2, rtol=2e-2)
        except RuntimeError:
            dynamic = False
    sizes = {"min-size": a.min_size, "max-size": a.max_size} if dynamic else {"min-size": size, "max-size": size}
    print(f"traced at {size}px; other sizes {'work' if dynamic else 'do not work'}: {sizes}")

    tokenizer_json = Path(a.out) / "tokenizer.json"
    tokenizer_json.parent.mkdir(parents=True, exist_ok=True)
    fast = CLIPTokenizerFast.from_pretrained(Path(a.source) / "tokenizer", local_files_only=True)
    fast.backend_tokenizer.save(str(tokenizer_json))

    properties = {
        "prediction": "v" if sched.get("prediction_type") == "v_prediction" else "epsilon",
        "schedule": sched.get("beta_schedule", "scaled_linear").replace("_", "-"),
        "beta-start": sched.get("beta_start", 0.00085),
        "beta-end": sched.get("beta_end", 0.012),
        "train-timesteps": sched.get("num_train_timesteps", 1000),
        "latent-channels": channels,
        "vae-scale-factor": factor,
        "scaling-factor": pipe.vae.config.scaling_factor,
        "text-max-length": length,
        "pad-token": fast.pad_token,
        "default-size": size,
        "size-multiple": 8 * factor,
        **sizes,
    }
    write_model_dir(a.out, text, unet, vae, str(tokenizer_json), properties,
                    example_latent=(size // factor, size // factor), hidden_dim=hidden, device=device)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
