package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/podrun/podrun/integration/harness"
)

// Machine describes where the figures come from.
type Machine struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpuModel"`
	MemoryMiB  int64  `json:"memoryMiB"`
	Kernel     string `json:"kernel"`
	Cgroup     string `json:"cgroup"`
	Containerd string `json:"containerd"`
	GoVersion  string `json:"goVersion"`
	Commit     string `json:"commit"`
}

func describeMachine(containerdVersion string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Containerd: containerdVersion}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if kb := meminfo("MemTotal"); kb > 0 {
		m.MemoryMiB = kb / 1024
	}
	switch {
	case exists("/sys/fs/cgroup/cgroup.controllers"):
		m.Cgroup = "cgroup v2"
	case exists("/sys/fs/cgroup/unified"):
		m.Cgroup = "cgroup v1 (hybrid)"
	default:
		m.Cgroup = "cgroup v1"
	}
	if root, err := harness.ModuleRoot(); err == nil {
		if out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
			m.Commit = strings.TrimSpace(string(out))
		}
	}
	return m
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func meminfo(key string) int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// ProcStat is a process's resource use as /proc shows it.
type ProcStat struct {
	RSSKiB   int64 `json:"rssKiB"`
	AnonKiB  int64 `json:"rssAnonKiB"` // heap, stacks: the process's own memory
	FileKiB  int64 `json:"rssFileKiB"` // mapped file pages, mostly the executable's text
	Threads  int   `json:"threads"`
	FDs      int   `json:"fds"`
	CPUTicks int64 `json:"cpuTicks"` // utime+stime in clock ticks
}

// clockTick is USER_HZ, 100 on every Linux that Go supports here.
const clockTick = 100

func readProcStat(pid int) (ProcStat, error) {
	var s ProcStat
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return s, fmt.Errorf("read status of %d: %w", pid, err)
	}
	s.RSSKiB, s.AnonKiB, s.FileKiB, s.Threads = parseStatus(status)
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return s, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	if s.CPUTicks, err = parseCPUTicks(stat); err != nil {
		return s, err
	}
	fds, err := os.ReadDir(filepath.Join(dir, "fd"))
	if err != nil {
		return s, fmt.Errorf("list fds of %d: %w", pid, err)
	}
	s.FDs = len(fds)
	return s, nil
}

func parseStatus(b []byte) (rssKiB, anonKiB, fileKiB int64, threads int) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			rssKiB, _ = strconv.ParseInt(f[0], 10, 64)
		case "RssAnon":
			anonKiB, _ = strconv.ParseInt(f[0], 10, 64)
		case "RssFile":
			fileKiB, _ = strconv.ParseInt(f[0], 10, 64)
		case "Threads":
			threads, _ = strconv.Atoi(f[0])
		}
	}
	return rssKiB, anonKiB, fileKiB, threads
}

// parseCPUTicks reads utime (field 14) + stime (field 15) of /proc/PID/stat;
// the command name (field 2) may hold spaces, so fields count from its ')'.
func parseCPUTicks(stat []byte) (int64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat: %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat: %q", stat)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc stat times: %q", stat)
	}
	return ut + st, nil
}

// scrapeMetrics reads the named samples (unlabelled) from podrund's
// Prometheus /metrics: go_goroutines, go_memstats_heap_inuse_bytes, ...
func scrapeMetrics(ctx context.Context, socket string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://podrund/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := harness.UnixClient(socket).Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read /metrics: %w", err)
	}
	return parseMetrics(body, names), nil
}

func parseMetrics(body []byte, names []string) map[string]float64 {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && want[f[0]] {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				out[f[0]] = v
			}
		}
	}
	return out
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// otherPodrunds lists podrund daemons and containerd processes that are not
// this run's (below base): other work on the machine skews the figures.
func otherPodrunds(base string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		name := filepath.Base(args[0])
		if (name != "podrund" && name != "containerd") || strings.Contains(string(raw), base) ||
			(len(args) > 1 && args[1] == "cri-logger") {
			continue
		}
		out = append(out, fmt.Sprintf("pid %s %s", e.Name(), strings.Join(args, " ")))
	}
	return out
}

// readPSS is the Pss of /proc/PID/smaps_rollup in KiB (0 when unreadable).
func readPSS(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == "Pss" {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
