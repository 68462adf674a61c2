// Package integration holds runnc's end-to-end tests and benchmarks: real
// binaries from build/ (make all first) driven by real clients, such as
// curl and wrk against the httpd unikernel, redis-cli and redis-benchmark
// against the key-value unikernel, and container engines running runnc.
//
// The tests need root: they make network namespaces and taps (package
// testnet), mount tracefs and start daemons, and they remove all of it when
// they end, also on failure. Run them with
//
//	go test ./integration/
//
// and the benchmarks, each of which measures a runnc guest against a native
// peer in the same run and reports the ratio, with
//
//	go test -run '^$' -bench . -benchtime 1x ./integration/...
//
// Timings appear only in benchmarks, never as pass/fail thresholds.
package integration
