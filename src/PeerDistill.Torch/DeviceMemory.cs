namespace PeerDistill.Torch;

/// <summary>
/// Memory of one CUDA device's caching allocator, in bytes: allocated to live tensors, the most
/// allocated since the last reset, reserved from the device (allocated plus cached) and the most
/// reserved. The same figures as torch.cuda.memory_allocated, max_memory_allocated,
/// memory_reserved and max_memory_reserved.
/// </summary>
public sealed record DeviceMemory(long AllocatedBytes, long PeakAllocatedBytes, long ReservedBytes, long PeakReservedBytes);
