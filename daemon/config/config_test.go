package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

const fullConfig = `
socket: /tmp/x.sock
root: /data/podrund
namespace: edge
policy:
  level: restricted
  namespaces: {infra: privileged}
  allowedHostPaths:
  - /srv/data
  - {pathPrefix: /etc/ssl, readOnly: true}
  allowedUnsafeSysctls: ["net.core.*"]
cni:
  confDir: /etc/cni/net.d
  binDir: /usr/lib/cni
logRotation:
  maxSizeBytes: 1048576
  maxFiles: 3
imagePull:
  dockerConfig: /root/.docker/config.json
  plainHTTPRegistries: ["registry.lan:5000"]
shutdownGracePeriod: 45s
concurrentPodStarts: 2
pprof: true
`

func TestParseFull(t *testing.T) {
	c, err := Parse([]byte(fullConfig), Defaults())
	if err != nil {
		t.Fatal(err)
	}
	if c.Socket != "/tmp/x.sock" || c.Namespace != "edge" || c.Policy == nil || c.Policy.Level != "restricted" ||
		c.Policy.Namespaces["infra"] != "privileged" || len(c.Policy.AllowedHostPaths) != 2 ||
		c.Policy.AllowedHostPaths[0] != (HostPathPrefix{Prefix: "/srv/data"}) ||
		c.Policy.AllowedHostPaths[1] != (HostPathPrefix{Prefix: "/etc/ssl", ReadOnly: true}) || c.Policy.AllowedUnsafeSysctls[0] != "net.core.*" || c.CNI.ConfDir != "/etc/cni/net.d" ||
		c.LogRotation.MaxFiles != 3 || c.ImagePull.PlainHTTPRegistries[0] != "registry.lan:5000" ||
		c.ShutdownGracePeriod.Duration != 45*time.Second || c.ConcurrentPodStarts != 2 || !c.Pprof {
		t.Fatalf("parsed %+v", c)
	}
	if c.State != "/run/podrund" {
		t.Fatalf("unset key lost its default: state %q", c.State)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseStrict(t *testing.T) {
	for _, tc := range []struct{ doc, wantInErr string }{
		{"sockett: /x\n", "sockett"},
		{"policy:\n  allowPriviledged: true\n", "allowPriviledged"},
		{"policy:\n  allowedHostPaths: [{pathPrefix: /x, writable: true}]\n", "writable"},
		{"policy:\n  allowedHostPaths: [[/x]]\n", "allowedHostPaths entry"},
		{"logRotation:\n  maxFiles: many\n", "maxFiles"},
		{"root: [\n", "yaml"},
	} {
		_, err := Parse([]byte(tc.doc), Defaults())
		if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
			t.Errorf("Parse(%q) error = %v, want one naming %q", tc.doc, err, tc.wantInErr)
		}
	}
}

func TestValidate(t *testing.T) {
	c := Defaults()
	c.LogLevel = "loud"
	c.Policy = &Policy{AllowedHostPaths: []HostPathPrefix{{Prefix: "relative"}}}
	c.ConcurrentPodStarts = 0
	err := c.Validate()
	for _, want := range []string{"logLevel", "relative", "concurrentPodStarts"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v does not name %s", err, want)
		}
	}
}

func TestFlagsOverrideFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podrund.yaml")
	if err := os.WriteFile(path, []byte("root: /from/file\nnamespace: filens\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("podrund", pflag.ContinueOnError)
	f := AddFlags(fs)
	if err := fs.Parse([]string{"--config", path, "--namespace", "flagns"}); err != nil {
		t.Fatal(err)
	}
	c, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.Root != "/from/file" || c.Namespace != "flagns" || c.Socket != "/run/podrund/podrund.sock" {
		t.Fatalf("resolved %+v", c)
	}
	fs2 := pflag.NewFlagSet("podrund", pflag.ContinueOnError)
	f2 := AddFlags(fs2)
	_ = fs2.Parse([]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")})
	if _, err := f2.Resolve(); err == nil {
		t.Fatal("missing config file accepted")
	}
}

func TestPprofFlag(t *testing.T) {
	resolve := func(file string, args ...string) Config { return resolveArgs(t, file, args...) }
	if resolve("").Pprof {
		t.Error("pprof is on by default")
	}
	if !resolve("", "--pprof").Pprof {
		t.Error("--pprof did not turn pprof on")
	}
	if !resolve("pprof: true\n").Pprof {
		t.Error("pprof: true in the file did not turn pprof on")
	}
	if resolve("pprof: true\n", "--pprof=false").Pprof {
		t.Error("--pprof=false did not override the file")
	}
}

func TestMemorySettings(t *testing.T) {
	if d := Defaults().Memory; d.GCPercent != DefaultGCPercent || d.SoftLimitBytes != 128<<20 {
		t.Fatalf("default memory settings %+v", d)
	}
	c, err := Parse([]byte("memory:\n  softLimitBytes: 67108864\n"), Defaults())
	if err != nil {
		t.Fatal(err)
	}
	if c.Memory.SoftLimitBytes != 64<<20 || c.Memory.GCPercent != DefaultGCPercent {
		t.Fatalf("a file setting only the limit gave %+v (gcPercent must keep its default)", c.Memory)
	}
	c, err = Parse([]byte("memory:\n  softLimitBytes: 0\n"), Defaults())
	if err != nil || c.Memory.SoftLimitBytes != 0 {
		t.Fatalf("softLimitBytes 0 (no limit) gave %+v, %v", c.Memory, err)
	}
	c, err = Parse([]byte("memory:\n  gcPercent: 200\n"), Defaults())
	if err != nil || c.Memory.GCPercent != 200 {
		t.Fatalf("gcPercent 200 gave %+v, %v", c.Memory, err)
	}
	if _, err := Parse([]byte("memory:\n  gcPercnt: 20\n"), Defaults()); err == nil || !strings.Contains(err.Error(), "gcPercnt") {
		t.Fatalf("misspelt memory key: error %v", err)
	}
	bad := Defaults()
	bad.Memory = Memory{GCPercent: 0, SoftLimitBytes: -1}
	err = bad.Validate()
	for _, want := range []string{"memory.gcPercent", "memory.softLimitBytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v does not name %s", err, want)
		}
	}
}

// resolveArgs resolves a config from an optional file body and flags.
func resolveArgs(t *testing.T, file string, args ...string) Config {
	t.Helper()
	fs := pflag.NewFlagSet("podrund", pflag.ContinueOnError)
	f := AddFlags(fs)
	if file != "" {
		path := filepath.Join(t.TempDir(), "podrund.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	c, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLimitsSettings(t *testing.T) {
	d := Defaults().Limits
	if d.MaxWatches != 100 || d.MaxLogFollows != 50 || d.MaxExecSessions != 20 || d.RequestTimeout.Duration != time.Minute ||
		d.MaxJobPodCreatesPerSync != 500 {
		t.Fatalf("default limits %+v", d)
	}
	c, err := Parse([]byte("limits:\n  maxWatches: 3\n  requestTimeout: 5s\n"), Defaults())
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.MaxWatches != 3 || c.Limits.RequestTimeout.Duration != 5*time.Second || c.Limits.MaxLogFollows != 50 {
		t.Fatalf("a file setting two limits gave %+v (the others keep their defaults)", c.Limits)
	}
	if _, err := Parse([]byte("limits:\n  maxWatchs: 3\n"), Defaults()); err == nil || !strings.Contains(err.Error(), "maxWatchs") {
		t.Fatalf("misspelt limits key: error %v", err)
	}
	bad := Defaults()
	bad.Limits = Limits{MaxWatches: 0, MaxLogFollows: -1, MaxExecSessions: 0}
	err = bad.Validate()
	for _, want := range []string{"limits.maxWatches", "limits.maxLogFollows", "limits.maxExecSessions", "limits.requestTimeout",
		"limits.maxJobPodCreatesPerSync"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v does not name %s", err, want)
		}
	}
}

func TestPrepareAheadSetting(t *testing.T) {
	if got := resolveArgs(t, "").PrepareAhead; got != Defaults().PrepareAhead {
		t.Errorf("no setting gave prepareAhead %v, want the default %v", got, Defaults().PrepareAhead)
	}
	for _, tc := range []struct {
		file string
		args []string
		want bool
	}{
		{"prepareAhead: true\n", nil, true},
		{"prepareAhead: false\n", nil, false},
		{"", []string{"--prepare-ahead"}, true},
		{"", []string{"--prepare-ahead=false"}, false},
		{"prepareAhead: true\n", []string{"--prepare-ahead=false"}, false},
		{"prepareAhead: false\n", []string{"--prepare-ahead"}, true},
	} {
		if got := resolveArgs(t, tc.file, tc.args...).PrepareAhead; got != tc.want {
			t.Errorf("file %q flags %v: prepareAhead %v, want %v", tc.file, tc.args, got, tc.want)
		}
	}
}

// embeddedContainerd is unset by default (runtime.EmbedContainerd then
// decides from the host), and a file or a flag sets it either way.
func TestEmbeddedContainerdSetting(t *testing.T) {
	if v := resolveArgs(t, "").EmbeddedContainerd; v != nil {
		t.Errorf("embeddedContainerd = %v by default, want unset", *v)
	}
	for _, tc := range []struct {
		file string
		args []string
		want bool
	}{
		{"embeddedContainerd: true\n", nil, true},
		{"embeddedContainerd: false\n", nil, false},
		{"", []string{"--embedded-containerd"}, true},
		{"", []string{"--embedded-containerd=false"}, false},
		{"embeddedContainerd: true\n", []string{"--embedded-containerd=false"}, false},
	} {
		got := resolveArgs(t, tc.file, tc.args...).EmbeddedContainerd
		if got == nil || *got != tc.want {
			t.Errorf("file %q flags %v: embeddedContainerd %v, want %v", tc.file, tc.args, got, tc.want)
		}
	}
}

// TestPolicyKeys: the keys before policy.level are refused with a pointer
// to it, whatever their value, and levels and prefixes are checked.
func TestPolicyKeys(t *testing.T) {
	for _, tc := range []struct{ doc, wantInErr string }{
		{"policy:\n  allowPrivileged: false\n", "policy.allowPrivileged is replaced by policy.level: use level: privileged (or baseline)"},
		{"policy:\n  allowPrivileged: true\n", "policy.allowPrivileged is replaced by policy.level"},
		{"policy:\n  allowHostNamespaces: true\n", "policy.allowHostNamespaces is replaced by policy.level"},
		{"policy:\n  level: strict\n", `policy.level "strict": must be one of privileged, baseline, restricted`},
		{"policy:\n  namespaces: {apps: lax}\n", `policy.namespaces.apps "lax"`},
		{"policy:\n  namespaces: {Apps: baseline}\n", `policy.namespaces: "Apps" is not a namespace name`},
		{"policy:\n  allowedHostPaths: [var/log]\n", `policy.allowedHostPaths: "var/log" is not an absolute path`},
		{"policy:\n  allowedHostPaths: [{pathPrefix: rel}]\n", `policy.allowedHostPaths: "rel" is not an absolute path`},
	} {
		c, err := Parse([]byte(tc.doc), Defaults())
		if err != nil {
			t.Fatalf("%q: parse: %v", tc.doc, err)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
			t.Errorf("%q: Validate() = %v, want it to say %q", tc.doc, err, tc.wantInErr)
		}
	}
	c, err := Parse([]byte("policy:\n  level: baseline\n  allowedHostPaths: [/srv]\n"), Defaults())
	if err != nil || c.Validate() != nil {
		t.Fatalf("valid policy: %v %v", err, c.Validate())
	}
}

func TestSocketGroupSetting(t *testing.T) {
	if g := resolveArgs(t, "").SocketGroup; g != "" {
		t.Errorf("default socketGroup %q, want none", g)
	}
	if g := resolveArgs(t, "socketGroup: podrun\n").SocketGroup; g != "podrun" {
		t.Errorf("socketGroup from the file: %q", g)
	}
	if g := resolveArgs(t, "socketGroup: podrun\n", "--socket-group", "1234").SocketGroup; g != "1234" {
		t.Errorf("--socket-group did not override the file: %q", g)
	}
}

func TestDeviceDirectorySettings(t *testing.T) {
	for _, tc := range []struct {
		file      string
		args      []string
		manifests string
		images    string
	}{
		{"", nil, "/etc/podrun/manifests", "/var/lib/podrun/images"},
		{"manifestDir: \"\"\nimageDir: \"\"\n", nil, "", ""},
		{"manifestDir: /srv/m\n", []string{"--image-dir", "/srv/i"}, "/srv/m", "/srv/i"},
		{"manifestDir: /srv/m\n", []string{"--manifest-dir="}, "", "/var/lib/podrun/images"},
	} {
		c := resolveArgs(t, tc.file, tc.args...)
		if c.ManifestDir != tc.manifests || c.ImageDir != tc.images {
			t.Errorf("file %q args %q: manifestDir %q imageDir %q, want %q %q",
				tc.file, tc.args, c.ManifestDir, c.ImageDir, tc.manifests, tc.images)
		}
	}
	c := Defaults()
	c.ManifestDir = "relative/m"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "manifestDir") {
		t.Errorf("a relative manifestDir: %v", err)
	}
}

// shimGrouping is pod by default; a file or the flag sets node; any other
// value is refused with an error naming the key and the values.
func TestShimGroupingSetting(t *testing.T) {
	if got := resolveArgs(t, "").ShimGrouping; got != ShimGroupingPod {
		t.Errorf("no setting gave shimGrouping %q, want %q", got, ShimGroupingPod)
	}
	for _, tc := range []struct {
		file string
		args []string
		want string
	}{
		{"shimGrouping: node\n", nil, ShimGroupingNode},
		{"shimGrouping: pod\n", nil, ShimGroupingPod},
		{"", []string{"--shim-grouping=node"}, ShimGroupingNode},
		{"shimGrouping: node\n", []string{"--shim-grouping=pod"}, ShimGroupingPod},
	} {
		if got := resolveArgs(t, tc.file, tc.args...).ShimGrouping; got != tc.want {
			t.Errorf("file %q flags %v: shimGrouping %q, want %q", tc.file, tc.args, got, tc.want)
		}
	}
	for _, bad := range []string{"", "container", "Node", "node ", strings.Repeat("x", 1<<16)} {
		c := Defaults()
		c.ShimGrouping = bad
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "shimGrouping") || !strings.Contains(err.Error(), "must be one of pod, node") {
			t.Errorf("shimGrouping %.20q: Validate error %v, want one naming the key and its values", bad, err)
		}
	}
	if _, err := Parse([]byte("shimGrouping: [node]\n"), Defaults()); err == nil || !strings.Contains(err.Error(), "shimGrouping") {
		t.Errorf("a list for shimGrouping: error %v, want one naming the key", err)
	}
}
