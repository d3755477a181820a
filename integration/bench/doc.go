// Package bench is podrun's benchmark (BENCHMARKS.md): it starts a private
// containerd and real podrund processes built from this tree (through
// integration/harness) and measures, in one run,
//
//   - pod start (2 sidecars + 1 app) against containerd's own floor, with
//     loopback-only and with CNI bridge networking;
//   - reaction times from containerd's exit events to podrund's next action;
//   - podrund's footprint (RSS, CPU) idle and with 50 pods, with and
//     without 1 s probes, and the stack below containerd (PSS of podrund,
//     shims, log writers) under each shimGrouping;
//   - scale (100 pods at once, API list latency);
//   - churn (apply/delete cycles) followed by a leak check;
//   - boot: 20 stored pods brought back after a simulated host crash.
//
// It reports a markdown table on stdout, JSON in a file and the key
// figures as benchmark metrics. It is BenchmarkPodrun, so it runs only
// with go test -bench (see BENCHMARKS.md); the normal test suite only runs
// its unit tests.
package bench
