package io.diffq.worker.model.sd;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Settings of the Stable Diffusion model, under {@code diffq.worker.stable-diffusion}. It is loaded only when
 * {@code diffq.worker.models} names it.
 *
 * @param name     the model name jobs ask for
 * @param modelDir the directory of TorchScript files, {@code tokenizer.json} and {@code model.properties}
 *                 (made by {@code gpu-worker/scripts/sd/export_sd.py})
 */
@ConfigurationProperties("diffq.worker.stable-diffusion")
public record StableDiffusionProperties(
        @DefaultValue("sd") String name,
        Path modelDir) {
}
