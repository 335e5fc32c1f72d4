using PeerDistill.Bench;

// peerdistill-gpubench --report FILE [--device cuda:0] [--models cnn,resnet20] [--batches 128,512]
//                      [--warmup 20] [--steps 100] [--threads 1] [--temperature 4]
try
{
    return GpuBenchmark.Run(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"peerdistill-gpubench: {e.Message}");
    return 2;
}
