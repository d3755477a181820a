package secopts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestOOMScoreLimitClamp(t *testing.T) {
	free := OOMScoreLimit{}
	restricted := OOMScoreLimit{Restricted: true, Floor: -500}
	for _, tc := range []struct {
		limit    OOMScoreLimit
		adj, out int
	}{
		{free, -997, -997},
		{free, 1000, 1000},
		{restricted, -997, -500},
		{restricted, -500, -500},
		{restricted, 3, 3},
		{restricted, 1000, 1000},
		{OOMScoreLimit{Restricted: true, Floor: 0}, -997, 0},
	} {
		if got := tc.limit.Clamp(tc.adj); got != tc.out {
			t.Errorf("%+v.Clamp(%d) = %d, want %d", tc.limit, tc.adj, got, tc.out)
		}
	}
}

// A Guaranteed container's spec carries the clamped value, not -997.
func TestSpecOptsClampOOMScoreAdj(t *testing.T) {
	pod := basePod()
	both := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	pod.Spec.Containers = []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: both, Limits: both}}}
	for _, tc := range []struct {
		cfg  Config
		want int
	}{
		{Config{}, -997},
		{Config{OOMScore: OOMScoreLimit{Restricted: true, Floor: 0}}, 0},
		{Config{OOMScore: OOMScoreLimit{Restricted: true, Floor: -100}}, -100},
	} {
		opts, err := tc.cfg.SpecOpts(pod, &pod.Spec.Containers[0], ocispec.ImageConfig{})
		if err != nil {
			t.Fatal(err)
		}
		s := buildSpec(t, opts)
		if s.Process.OOMScoreAdj == nil || *s.Process.OOMScoreAdj != tc.want {
			t.Errorf("%+v: oomScoreAdj %v, want %d", tc.cfg.OOMScore, s.Process.OOMScoreAdj, tc.want)
		}
	}
}

func TestReadOOMScoreAdj(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{"-17\n": "", "0": "", "1000\n": "", "1001\n": "not an oom_score_adj",
		"abc": "not an oom_score_adj", "": "not an oom_score_adj"} {
		path := filepath.Join(dir, "adj")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := readOOMScoreAdj(path)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: err %v, want %q", content, err, want)
		}
	}
	if _, err := readOOMScoreAdj(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file gave no error")
	}
}

// The detection agrees with /proc/self/status's CapEff on this host.
func TestDetectOOMScoreLimitMatchesCapEff(t *testing.T) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var capEff uint64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%x", &capEff); err != nil {
				t.Fatal(err)
			}
		}
	}
	l, err := DetectOOMScoreLimit()
	if err != nil {
		t.Fatal(err)
	}
	if held := capEff&(1<<capSysResource) != 0; held == l.Restricted {
		t.Fatalf("CapEff %x (CAP_SYS_RESOURCE %v) but limit %+v", capEff, held, l)
	}
}

// When the check itself fails the limit is the clamp to 0, never an
// unrestricted limit: a Guaranteed pod's -997 would make runc fail.
func TestDetectOOMScoreLimitAssumesTheClampOnError(t *testing.T) {
	dir := t.TempDir()
	adj := filepath.Join(dir, "adj")
	if err := os.WriteFile(adj, []byte("-500\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	capgetFails := func() (bool, error) { return false, errors.New("capget: operation not permitted") }
	notHeld := func() (bool, error) { return false, nil }
	for name, tc := range map[string]struct {
		holds   func() (bool, error)
		adjPath string
		want    OOMScoreLimit
		wantErr bool
	}{
		"capget fails":         {capgetFails, adj, OOMScoreLimit{Restricted: true}, true},
		"own score unreadable": {notHeld, filepath.Join(dir, "missing"), OOMScoreLimit{Restricted: true}, true},
		"restricted":           {notHeld, adj, OOMScoreLimit{Restricted: true, Floor: -500}, false},
		"held":                 {func() (bool, error) { return true, nil }, adj, OOMScoreLimit{}, false},
	} {
		got, err := detectOOMScoreLimit(tc.holds, tc.adjPath)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: %+v, %v; want %+v, error %v", name, got, err, tc.want, tc.wantErr)
		}
	}
}
