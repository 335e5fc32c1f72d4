namespace PeerDistill.Torch;

/// <summary>Element types the binding moves across the boundary (codes shared with the shim).</summary>
public enum ScalarType
{
    Float32 = 0,
    Int64 = 1,
    Float16 = 2,
    UInt8 = 3,
    Float64 = 4,
}
