// Package crash holds the long kill -9 benchmark of provision: the real
// binary downloads a multi-GB virtual file from the simulator and is killed
// with SIGKILL at random moments, again and again, then run to the end. It
// reports how many bytes were fetched twice. It runs only when asked:
//
//	CRASH_BENCH=1 go test -v -timeout 30m ./bench/crash
//
// Settings (environment): CRASH_SIZE (bytes, default 4 GiB), CRASH_KILLS
// (default 20), CRASH_MIN_MS and CRASH_MAX_MS (each run is killed after a
// random time between them; default 200 and 1200), CRASH_DIR (where the
// models folder goes, default /dev/shm), CRASH_CONNS (default 16),
// CRASH_SEED (random seed).
package crash
