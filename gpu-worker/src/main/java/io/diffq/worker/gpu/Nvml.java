package io.diffq.worker.gpu;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * NVML through JNA: the GPUs of this machine and their utilisation, memory, temperature and power.
 * Without an NVIDIA driver it is {@link #unavailable} and says so once.
 */
public final class Nvml implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Nvml.class);

    private final NvmlLibrary lib;
    private final List<Pointer> devices;

    private Nvml(NvmlLibrary lib, List<Pointer> devices) {
        this.lib = lib;
        this.devices = devices;
    }

    /**
     * Loads and initialises NVML, from {@code libraryDir} when given, else from the system's library path.
     *
     * @return empty when there is no usable NVML (logged once, at INFO: a CPU-only worker is normal)
     */
    public static Optional<Nvml> load(Optional<Path> libraryDir) {
        NvmlLibrary lib;
        try {
            lib = libraryDir
                    .map(dir -> Native.load(dir.resolve("libnvidia-ml.so").toAbsolutePath().toString(), NvmlLibrary.class))
                    .orElseGet(Nvml::loadFromSystem);
        } catch (UnsatisfiedLinkError e) {
            log.info("NVML not found ({}): no GPU metrics", firstLine(e.getMessage()));
            return Optional.empty();
        }
        int rc = lib.nvmlInit_v2();
        if (rc != NvmlLibrary.SUCCESS) {
            log.info("NVML did not initialise ({}): no GPU metrics", lib.nvmlErrorString(rc));
            return Optional.empty();
        }
        IntByReference count = new IntByReference();
        check(lib, lib.nvmlDeviceGetCount_v2(count), "nvmlDeviceGetCount_v2");
        List<Pointer> devices = new ArrayList<>();
        for (int i = 0; i < count.getValue(); i++) {
            PointerByReference handle = new PointerByReference();
            check(lib, lib.nvmlDeviceGetHandleByIndex_v2(i, handle), "nvmlDeviceGetHandleByIndex_v2");
            devices.add(handle.getValue());
        }
        log.info("NVML: {} GPU(s)", devices.size());
        return Optional.of(new Nvml(lib, devices));
    }

    private static NvmlLibrary loadFromSystem() {
        try {
            return Native.load("nvidia-ml", NvmlLibrary.class);
        } catch (UnsatisfiedLinkError e) {
            // Driver installs ship only the versioned name unless the development package is present.
            return Native.load("libnvidia-ml.so.1", NvmlLibrary.class);
        }
    }

    public int deviceCount() {
        return devices.size();
    }

    /** Reads every GPU now. */
    public List<GpuSample> sample() {
        List<GpuSample> samples = new ArrayList<>(devices.size());
        for (int i = 0; i < devices.size(); i++) {
            Pointer d = devices.get(i);
            NvmlLibrary.Utilization util = new NvmlLibrary.Utilization();
            NvmlLibrary.Memory mem = new NvmlLibrary.Memory();
            IntByReference temp = new IntByReference();
            IntByReference power = new IntByReference();
            boolean utilOk = lib.nvmlDeviceGetUtilizationRates(d, util) == NvmlLibrary.SUCCESS;
            boolean memOk = lib.nvmlDeviceGetMemoryInfo(d, mem) == NvmlLibrary.SUCCESS;
            boolean tempOk = lib.nvmlDeviceGetTemperature(d, NvmlLibrary.TEMPERATURE_GPU, temp) == NvmlLibrary.SUCCESS;
            boolean powerOk = lib.nvmlDeviceGetPowerUsage(d, power) == NvmlLibrary.SUCCESS;
            samples.add(new GpuSample(i, text(b -> lib.nvmlDeviceGetUUID(d, b, b.length)),
                    text(b -> lib.nvmlDeviceGetName(d, b, b.length)),
                    utilOk ? util.gpu : Double.NaN,
                    memOk ? mem.used : Double.NaN,
                    memOk ? mem.total : Double.NaN,
                    tempOk ? temp.getValue() : Double.NaN,
                    powerOk ? power.getValue() / 1000.0 : Double.NaN));
        }
        return samples;
    }

    @Override
    public void close() {
        lib.nvmlShutdown();
    }

    private interface StringCall {
        int call(byte[] buffer);
    }

    private static String text(StringCall call) {
        byte[] buffer = new byte[NvmlLibrary.BUFFER_SIZE];
        if (call.call(buffer) != NvmlLibrary.SUCCESS) {
            return "unknown";
        }
        int end = 0;
        while (end < buffer.length && buffer[end] != 0) {
            end++;
        }
        return new String(buffer, 0, end, StandardCharsets.UTF_8);
    }

    private static void check(NvmlLibrary lib, int rc, String call) {
        if (rc != NvmlLibrary.SUCCESS) {
            throw new IllegalStateException(call + ": " + lib.nvmlErrorString(rc));
        }
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
