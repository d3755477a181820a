package secopts

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cap"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func i64(v int64) *int64 { return &v }
func bp(v bool) *bool    { return &v }

// buildSpec generates containerd's default spec and applies opts, with a
// rootfs holding an /etc/passwd so user lookups work.
func buildSpec(t *testing.T, opts []oci.SpecOpts) *oci.Spec {
	t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), "test")
	c := &containers.Container{ID: "0123abcd"}
	s, err := oci.GenerateSpec(ctx, nil, c)
	if err != nil {
		t.Fatal(err)
	}
	rootfs := t.TempDir()
	if err := os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1500::/home/app:/bin/sh\n"
	if err := os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Root.Path = rootfs
	if err := oci.ApplyOpts(ctx, nil, c, s, opts...); err != nil {
		t.Fatal(err)
	}
	return s
}

func basePod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-1"}}
}

func TestCapabilitySet(t *testing.T) {
	def := defaultCapabilities()
	// A host bounding set without CAP_SYS_RESOURCE, as this machine's
	// (no CAP_SYS_RESOURCE for podrund). cap.Known is containerd's own
	// table: clone it before editing.
	bounding := slices.DeleteFunc(slices.Clone(cap.Known()), func(s string) bool { return s == "CAP_SYS_RESOURCE" })
	cases := []struct {
		name    string
		caps    *corev1.Capabilities
		has     []string
		not     []string
		n       int    // expected size, -1 to skip
		wantErr string // an UnavailableCapabilitiesError saying this
	}{
		{"none", nil, def, nil, len(def), ""},
		{"add and drop", &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN", "sys_time"}, Drop: []corev1.Capability{"CHOWN"}},
			[]string{"CAP_NET_ADMIN", "CAP_SYS_TIME", "CAP_KILL"}, []string{"CAP_CHOWN"}, len(def) + 1, ""},
		{"drop ALL add one", &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}},
			[]string{"CAP_NET_BIND_SERVICE"}, []string{"CAP_CHOWN", "CAP_KILL"}, 1, ""},
		{"drop ALL", &corev1.Capabilities{Drop: []corev1.Capability{"all"}}, nil, def, 0, ""},
		{"add ALL drop one", &corev1.Capabilities{Add: []corev1.Capability{"ALL"}, Drop: []corev1.Capability{"SYS_ADMIN"}},
			[]string{"CAP_SYS_PTRACE", "CAP_NET_ADMIN"}, []string{"CAP_SYS_ADMIN", "CAP_ALL", "CAP_SYS_RESOURCE"}, len(bounding) - 1, ""},
		{"add ALL is the bounding set", &corev1.Capabilities{Add: []corev1.Capability{"ALL"}},
			[]string{"CAP_SYS_ADMIN"}, []string{"CAP_SYS_RESOURCE"}, len(bounding), ""},
		{"named capability outside the bounding set", &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN", "SYS_RESOURCE"}},
			nil, nil, -1, "capabilities.add: CAP_SYS_RESOURCE is not in the host's capability bounding set"},
		{"named with ALL still named", &corev1.Capabilities{Add: []corev1.Capability{"ALL", "sys_resource"}},
			nil, nil, -1, "capabilities.add: CAP_SYS_RESOURCE is not in the host's capability bounding set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := capabilitySet(tc.caps, bounding)
			if tc.wantErr != "" {
				var ue *UnavailableCapabilitiesError
				if !errors.As(err, &ue) || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.has {
				if !slices.Contains(got, h) {
					t.Errorf("missing %s in %v", h, got)
				}
			}
			for _, n := range tc.not {
				if slices.Contains(got, n) {
					t.Errorf("unexpected %s in %v", n, got)
				}
			}
			if tc.n >= 0 && len(got) != tc.n {
				t.Errorf("%d capabilities, want %d: %v", len(got), tc.n, got)
			}
		})
	}
}

// TestHostBoundingSet reads this process's CapBnd as the kernel reports it.
func TestHostBoundingSet(t *testing.T) {
	got, err := hostBoundingSet()
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	sets, err := cap.ParseProcPIDStatus(bytes.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := cap.FromBitmap(sets[cap.Bounding])
	if !slices.Equal(got, want) || len(got) == 0 {
		t.Fatalf("bounding set %v, want %v", got, want)
	}
}

func TestCPUArithmetic(t *testing.T) {
	for milli, want := range map[int64]uint64{0: 2, 1: 2, 250: 256, 1000: 1024, 1500: 1536, 1000000: 262144} {
		if got := MilliCPUToShares(milli); got != want {
			t.Errorf("MilliCPUToShares(%d) = %d, want %d", milli, got, want)
		}
	}
	for milli, want := range map[int64]int64{0: 0, 5: 1000, 250: 25000, 500: 50000, 2000: 200000} {
		if got := MilliCPUToQuota(milli, QuotaPeriod); got != want {
			t.Errorf("MilliCPUToQuota(%d) = %d, want %d", milli, got, want)
		}
	}
}

func TestRunAsNonRoot(t *testing.T) {
	cases := []struct {
		name, imageUser string
		runAsUser       *int64
		want            string
	}{
		{"image root", "", nil, "image will run as root"},
		{"image uid 0", "0:0", nil, "image will run as root"},
		{"image named user", "nobody", nil, "non-numeric user (nobody)"},
		{"image numeric", "65534", nil, ""},
		{"runAsUser 0", "65534", i64(0), "runAsUser breaks non-root policy"},
		{"runAsUser wins", "", i64(1000), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := basePod()
			pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: bp(true)}
			c := &corev1.Container{Name: "app", SecurityContext: &corev1.SecurityContext{RunAsUser: tc.runAsUser}}
			_, err := SpecOpts(pod, c, ocispec.ImageConfig{User: tc.imageUser})
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSpecOptsRestricted(t *testing.T) {
	pod := basePod()
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsUser: i64(1000), FSGroup: i64(2000), SupplementalGroups: []int64{4000},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		Sysctls:        []corev1.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: "1024 65000"}},
	}
	c := &corev1.Container{Name: "app", SecurityContext: &corev1.SecurityContext{
		RunAsGroup:               i64(3000),
		AllowPrivilegeEscalation: bp(false),
		ReadOnlyRootFilesystem:   bp(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}},
	}, Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	}}
	opts, err := SpecOpts(pod, c, ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s := buildSpec(t, opts)
	u := s.Process.User
	// containerd lists the primary group among the additional ones too.
	if u.UID != 1000 || u.GID != 3000 || !slices.Contains(u.AdditionalGids, 2000) || !slices.Contains(u.AdditionalGids, 4000) {
		t.Errorf("user %+v", u)
	}
	if !s.Process.NoNewPrivileges || !s.Root.Readonly {
		t.Errorf("noNewPrivs %v readonly rootfs %v", s.Process.NoNewPrivileges, s.Root.Readonly)
	}
	if got := s.Process.Capabilities.Bounding; !slices.Equal(got, []string{"CAP_NET_BIND_SERVICE"}) {
		t.Errorf("bounding caps %v", got)
	}
	if s.Linux.Seccomp == nil || len(s.Linux.Seccomp.Syscalls) == 0 {
		t.Errorf("RuntimeDefault seccomp not set")
	}
	if s.Linux.Sysctl["net.ipv4.ip_local_port_range"] != "1024 65000" {
		t.Errorf("sysctls %v", s.Linux.Sysctl)
	}
	cpu, mem := s.Linux.Resources.CPU, s.Linux.Resources.Memory
	if *cpu.Shares != 256 || *cpu.Quota != 50000 || *cpu.Period != 100000 || *mem.Limit != 64<<20 {
		t.Errorf("cpu %+v memory %+v", cpu, mem)
	}
	if s.Linux.CgroupsPath != "/podrun/poduid-1/0123abcd" {
		t.Errorf("cgroupsPath %q", s.Linux.CgroupsPath)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
}

func TestSpecOptsDefaults(t *testing.T) {
	pod := basePod()
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: i64(1000)}
	opts, err := SpecOpts(pod, &corev1.Container{Name: "app"}, ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s := buildSpec(t, opts)
	if s.Process.User.UID != 1000 || s.Process.User.GID != 1500 {
		t.Errorf("runAsUser without group: %+v (want gid from /etc/passwd)", s.Process.User)
	}
	if s.Process.NoNewPrivileges || s.Linux.Seccomp != nil || s.Root.Readonly {
		t.Errorf("defaults: noNewPrivs %v seccomp %v ro %v", s.Process.NoNewPrivileges, s.Linux.Seccomp != nil, s.Root.Readonly)
	}
	if !slices.Equal(s.Process.Capabilities.Effective, defaultCapabilities()) {
		t.Errorf("default caps %v", s.Process.Capabilities.Effective)
	}
	if s.Process.OOMScoreAdj == nil || *s.Process.OOMScoreAdj != 1000 {
		t.Errorf("best-effort oom_score_adj %v", s.Process.OOMScoreAdj)
	}
	if *s.Linux.Resources.CPU.Shares != 2 || s.Linux.Resources.CPU.Quota != nil || s.Linux.Resources.Memory != nil {
		t.Errorf("best-effort resources %+v %+v", s.Linux.Resources.CPU, s.Linux.Resources.Memory)
	}
}

func TestSpecOptsPrivilegedAndUnmasked(t *testing.T) {
	pod := basePod()
	c := &corev1.Container{Name: "app", SecurityContext: &corev1.SecurityContext{Privileged: bp(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}}
	opts, err := SpecOpts(pod, c, ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s := buildSpec(t, opts)
	// Privileged gets every capability podrund itself has.
	if !slices.Contains(s.Process.Capabilities.Effective, "CAP_NET_ADMIN") || s.Linux.Seccomp != nil ||
		len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 || s.Process.NoNewPrivileges {
		t.Errorf("privileged spec: caps %v seccomp %v masked %v", s.Process.Capabilities.Effective, s.Linux.Seccomp != nil, s.Linux.MaskedPaths)
	}
	if d := s.Linux.Resources.Devices; len(d) == 0 || !d[len(d)-1].Allow {
		t.Errorf("privileged devices %+v", d)
	}
	for _, m := range s.Mounts {
		if m.Destination == "/sys" && slices.Contains(m.Options, "ro") {
			t.Errorf("privileged /sys read-only: %v", m.Options)
		}
	}
	um := corev1.UnmaskedProcMount
	c = &corev1.Container{Name: "app", SecurityContext: &corev1.SecurityContext{ProcMount: &um}}
	opts, _ = SpecOpts(pod, c, ocispec.ImageConfig{})
	if s := buildSpec(t, opts); len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
		t.Errorf("Unmasked procMount: %v %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
}

func TestSeccompLocalhost(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "audit.json"), []byte(`{"defaultAction":"SCMP_ACT_LOG"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{SeccompRoot: root}
	pod := basePod()
	prof := func(p string) *corev1.Container {
		return &corev1.Container{Name: "app", SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{
			Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &p}}}
	}
	opts, err := cfg.SpecOpts(pod, prof("audit.json"), ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if s := buildSpec(t, opts); s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != "SCMP_ACT_LOG" {
		t.Errorf("localhost profile not loaded: %+v", s.Linux.Seccomp)
	}
	for _, bad := range []string{"missing.json", "../etc/passwd"} {
		if _, err := cfg.SpecOpts(pod, prof(bad), ocispec.ImageConfig{}); err == nil {
			t.Errorf("profile %q accepted", bad)
		}
	}
}

func TestSysctlRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hostNet bool
		want    string
	}{
		{"vm.swappiness", false, "not namespaced"},
		{"net.ipv4.tcp_syncookies", true, "hostNetwork"},
		{"net/ipv4/tcp_syncookies", false, ""},
		{"kernel.shm_rmid_forced", false, ""},
	} {
		pod := basePod()
		pod.Spec.HostNetwork = tc.hostNet
		pod.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: tc.name, Value: "1"}}}
		_, err := SpecOpts(pod, &corev1.Container{Name: "c"}, ocispec.ImageConfig{})
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s hostNetwork=%v: err %v, want %q", tc.name, tc.hostNet, err, tc.want)
		}
	}
}

func TestQOSAndOOMScoreAdj(t *testing.T) {
	rl := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	const capacity = 8 << 30
	cases := []struct {
		name     string
		req, lim corev1.ResourceList
		qos      corev1.PodQOSClass
		adj      int
	}{
		{"best effort", nil, nil, corev1.PodQOSBestEffort, 1000},
		{"guaranteed", rl("500m", "1Gi"), rl("500m", "1Gi"), corev1.PodQOSGuaranteed, -997},
		{"burstable by request share", rl("100m", "2Gi"), nil, corev1.PodQOSBurstable, 750},
		{"burstable tiny request", rl("100m", "1Ki"), nil, corev1.PodQOSBurstable, 999},
		{"burstable huge request", rl("", "8Gi"), rl("", "8Gi"), corev1.PodQOSBurstable, 3},
		{"limits differ from requests", rl("250m", "1Gi"), rl("500m", "1Gi"), corev1.PodQOSBurstable, 875},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := basePod()
			pod.Spec.Containers = []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: tc.req, Limits: tc.lim}}}
			if got := PodQOS(pod); got != tc.qos {
				t.Fatalf("QoS %s, want %s", got, tc.qos)
			}
			if got := OOMScoreAdj(pod, &pod.Spec.Containers[0], capacity); got != tc.adj {
				t.Fatalf("oom_score_adj %d, want %d", got, tc.adj)
			}
		})
	}
}
