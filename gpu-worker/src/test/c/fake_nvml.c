/*
 * A stand-in for libnvidia-ml.so with known values, for testing the worker's NVML binding on machines
 * without an NVIDIA driver. Types and signatures are those of nvml.h (the parts the worker uses);
 * build: gcc -shared -fPIC -o libnvidia-ml.so fake_nvml.c
 *
 * Two GPUs:
 *   0  "NVIDIA H100 80GB HBM3"  GPU-11111111-2222-3333-4444-555555555555  87 %  20 GiB / 80 GiB  64 C  312.5 W
 *   1  "NVIDIA A10G"            GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee   3 %   1 GiB / 24 GiB  41 C   58.25 W
 */
#include <string.h>

typedef enum nvmlReturn_enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_INSUFFICIENT_SIZE = 7
} nvmlReturn_t;

typedef enum nvmlTemperatureSensors_enum {
    NVML_TEMPERATURE_GPU = 0
} nvmlTemperatureSensors_t;

typedef struct nvmlUtilization_st {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

typedef struct nvmlMemory_st {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

struct nvmlDevice_st {
    const char *name;
    const char *uuid;
    unsigned int utilization;
    unsigned long long total;
    unsigned long long used;
    unsigned int temperature;
    unsigned int milliwatts;
};
typedef struct nvmlDevice_st *nvmlDevice_t;

#define GIB (1024ULL * 1024ULL * 1024ULL)

static struct nvmlDevice_st devices[] = {
    {"NVIDIA H100 80GB HBM3", "GPU-11111111-2222-3333-4444-555555555555", 87, 80 * GIB, 20 * GIB, 64, 312500},
    {"NVIDIA A10G", "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", 3, 24 * GIB, 1 * GIB, 41, 58250},
};
static const unsigned int device_count = sizeof(devices) / sizeof(devices[0]);
static int initialised = 0;

static int valid(nvmlDevice_t d) {
    return d == &devices[0] || d == &devices[1];
}

nvmlReturn_t nvmlInit_v2(void) {
    initialised++;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    initialised--;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (!deviceCount) return NVML_ERROR_INVALID_ARGUMENT;
    *deviceCount = device_count;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (index >= device_count || !device) return NVML_ERROR_INVALID_ARGUMENT;
    *device = &devices[index];
    return NVML_SUCCESS;
}

static nvmlReturn_t copy(const char *value, char *out, unsigned int length) {
    if (strlen(value) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(out, value);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (!valid(device) || !name) return NVML_ERROR_INVALID_ARGUMENT;
    return copy(device->name, name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (!valid(device) || !uuid) return NVML_ERROR_INVALID_ARGUMENT;
    return copy(device->uuid, uuid, length);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (!valid(device) || !utilization) return NVML_ERROR_INVALID_ARGUMENT;
    utilization->gpu = device->utilization;
    utilization->memory = device->utilization / 2;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (!valid(device) || !memory) return NVML_ERROR_INVALID_ARGUMENT;
    memory->total = device->total;
    memory->used = device->used;
    memory->free = device->total - device->used;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensorType, unsigned int *temp) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (!valid(device) || !temp || sensorType != NVML_TEMPERATURE_GPU) return NVML_ERROR_INVALID_ARGUMENT;
    *temp = device->temperature;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (!valid(device) || !power) return NVML_ERROR_INVALID_ARGUMENT;
    *power = device->milliwatts;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
        case NVML_SUCCESS: return "Success";
        case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
        case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
        case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
        default: return "Unknown Error";
    }
}
