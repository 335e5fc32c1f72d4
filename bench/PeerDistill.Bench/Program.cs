using PeerDistill.Bench;

var name = args.Length > 0 ? args[0] : "engine";
var rest = args.Skip(1).ToArray();
switch (name)
{
    case "engine":
        return EngineBenchmark.Run(rest);
    case "cohort":
        return await CohortBenchmark.RunAsync(rest);
    case "dml-gain":
        return DmlGainBenchmark.Run(rest);
    case "multi-teacher":
        return MultiTeacherBenchmark.Run(rest);
    case "rpc":
        return RpcBenchmark.Run(rest);
    case "distributed":
        return DistributedBenchmark.Run(rest);
    case "logits":
        return LogitsBenchmark.Run(rest);
    case "federated":
        return FederatedBenchmark.Run(rest);
    case "api":
        return ApiBenchmark.Run(rest);
    case "rpc-server":
        // Hidden: the server side of `rpc`, started by it as a child process.
        return RpcBenchmark.Serve(rest);
    default:
        Console.Error.WriteLine($"unknown benchmark '{name}' (known: engine, cohort, dml-gain, multi-teacher, rpc, distributed, logits, federated, api; the GPU benchmark is its own program, bench/PeerDistill.GpuBench, run by bench/gpu/run.sh)");
        return 2;
}
