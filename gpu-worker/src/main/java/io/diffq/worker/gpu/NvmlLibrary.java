package io.diffq.worker.gpu;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * The part of NVML ({@code libnvidia-ml.so}, nvml.h) the worker uses. Every function returns an
 * {@code nvmlReturn_t}: 0 is success. {@code unsigned int} maps to {@code int} (values stay far below
 * 2^31), {@code unsigned long long} to {@code long}, {@code nvmlDevice_t} (an opaque pointer) to
 * {@link Pointer}.
 */
interface NvmlLibrary extends Library {

    int SUCCESS = 0;
    int TEMPERATURE_GPU = 0;
    /** NVML_DEVICE_NAME_V2_BUFFER_SIZE and NVML_DEVICE_UUID_V2_BUFFER_SIZE are 96. */
    int BUFFER_SIZE = 96;

    int nvmlInit_v2();

    int nvmlShutdown();

    int nvmlDeviceGetCount_v2(IntByReference deviceCount);

    int nvmlDeviceGetHandleByIndex_v2(int index, PointerByReference device);

    int nvmlDeviceGetName(Pointer device, byte[] name, int length);

    int nvmlDeviceGetUUID(Pointer device, byte[] uuid, int length);

    int nvmlDeviceGetUtilizationRates(Pointer device, Utilization utilization);

    int nvmlDeviceGetMemoryInfo(Pointer device, Memory memory);

    int nvmlDeviceGetTemperature(Pointer device, int sensorType, IntByReference temp);

    int nvmlDeviceGetPowerUsage(Pointer device, IntByReference milliwatts);

    String nvmlErrorString(int result);

    /** {@code nvmlUtilization_t}: percent of time the GPU and its memory were busy over the last sample period. */
    @Structure.FieldOrder({"gpu", "memory"})
    class Utilization extends Structure {
        public int gpu;
        public int memory;
    }

    /** {@code nvmlMemory_t}, in bytes. */
    @Structure.FieldOrder({"total", "free", "used"})
    class Memory extends Structure {
        public long total;
        public long free;
        public long used;
    }
}
