// A tiny MPS client for tests/device/mps_gpu.sh (a real GPU only):
//   mps_client alloc MIB   allocate MIB MiB of device memory and touch it;
//                          exit 0 and "alloc MIB ok", or 1 and the CUDA error
//   mps_client bench       time a compute-bound kernel over many blocks
//                          (every SM busy); prints "bench MS" (the best of 5)
// Its limits come from the MPS environment the agent gives a container:
// CUDA_MPS_PINNED_DEVICE_MEM_LIMIT and CUDA_MPS_ACTIVE_THREAD_PERCENTAGE.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cuda_runtime.h>

__global__ void spin(float *out, int iters)
{
    float x = (float)threadIdx.x;
    for (int i = 0; i < iters; i++)
        x = x * 0.9999f + 0.0001f;
    out[blockIdx.x * blockDim.x + threadIdx.x] = x;
}

static int alloc(size_t mib)
{
    void *p = nullptr;
    cudaError_t rc = cudaMalloc(&p, mib << 20);
    if (rc == cudaSuccess)
        rc = cudaMemset(p, 1, mib << 20);
    if (rc == cudaSuccess)
        rc = cudaDeviceSynchronize();
    if (rc != cudaSuccess) {
        printf("alloc %zu failed: %s\n", mib, cudaGetErrorName(rc));
        return 1;
    }
    printf("alloc %zu ok\n", mib);
    cudaFree(p);
    return 0;
}

static int bench(void)
{
    int sms = 0;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
    const int threads = 256, blocks = 32 * (sms > 0 ? sms : 1), iters = 1 << 15;
    float *out = nullptr;
    if (cudaMalloc(&out, (size_t)blocks * threads * sizeof *out) != cudaSuccess) {
        printf("bench: no memory\n");
        return 1;
    }
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    spin<<<blocks, threads>>>(out, iters); // warm-up
    cudaDeviceSynchronize();
    float best = 1e30f;
    for (int k = 0; k < 5; k++) {
        cudaEventRecord(a);
        spin<<<blocks, threads>>>(out, iters);
        cudaEventRecord(b);
        cudaEventSynchronize(b);
        float ms = 0;
        cudaEventElapsedTime(&ms, a, b);
        if (ms < best)
            best = ms;
    }
    cudaError_t rc = cudaGetLastError();
    if (rc != cudaSuccess) {
        printf("bench failed: %s\n", cudaGetErrorName(rc));
        return 1;
    }
    printf("bench %.3f (SMs reported: %d)\n", best, sms);
    cudaFree(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "alloc") == 0)
        return alloc((size_t)strtoull(argv[2], nullptr, 10));
    if (argc == 2 && strcmp(argv[1], "bench") == 0)
        return bench();
    fprintf(stderr, "usage: mps_client alloc MIB | bench\n");
    return 2;
}
