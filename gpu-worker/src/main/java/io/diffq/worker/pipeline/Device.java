package io.diffq.worker.pipeline;

/**
 * A device a consumer runs its models on.
 *
 * @param name     {@code cpu} or {@code gpu<index>}, as it appears in metrics and events
 * @param gpuIndex the CUDA device index, or -1 for the CPU
 */
public record Device(String name, int gpuIndex) {

    public static final Device CPU = new Device("cpu", -1);

    public static Device gpu(int index) {
        return new Device("gpu" + index, index);
    }

    public boolean isGpu() {
        return gpuIndex >= 0;
    }
}
