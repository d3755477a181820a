package bench

import (
	"os"
	"testing"
)

func TestParseCPUTicks(t *testing.T) {
	stat := []byte("1234 (pod rund (x)) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 9 0 100 0 0")
	n, err := parseCPUTicks(stat)
	if err != nil || n != 325 {
		t.Fatalf("parseCPUTicks = %d, %v; want 325", n, err)
	}
	if _, err := parseCPUTicks([]byte("garbage")); err == nil {
		t.Fatal("malformed stat accepted")
	}
}

func TestParseStatusAndSelf(t *testing.T) {
	rss, anon, file, thr := parseStatus([]byte("Name:\tpodrund\nVmRSS:\t  12345 kB\nRssAnon:\t 345 kB\nRssFile:\t12000 kB\nThreads:\t7\n"))
	if rss != 12345 || anon != 345 || file != 12000 || thr != 7 {
		t.Fatalf("parseStatus = %d, %d, %d, %d", rss, anon, file, thr)
	}
	if pss := readPSS(os.Getpid()); pss <= 0 {
		t.Fatalf("readPSS(self) = %d", pss)
	}
	s, err := readProcStat(os.Getpid())
	if err != nil || s.RSSKiB <= 0 || s.Threads <= 0 || s.FDs <= 0 {
		t.Fatalf("readProcStat(self) = %+v, %v", s, err)
	}
}

func TestParseMetrics(t *testing.T) {
	body := []byte("# HELP go_goroutines x\n# TYPE go_goroutines gauge\ngo_goroutines 42\ngo_threads 9\nfoo{a=\"b\"} 1\n")
	m := parseMetrics(body, []string{"go_goroutines", "go_threads", "missing"})
	if len(m) != 2 || m["go_goroutines"] != 42 || m["go_threads"] != 9 {
		t.Fatalf("parseMetrics = %v", m)
	}
}
