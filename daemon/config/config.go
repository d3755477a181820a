// Package config is podrund's configuration: the command-line flags of
// docs/contract.md §1 and an optional YAML file (--config) with the same settings
// plus policy, CNI, log rotation, image pull and shutdown settings. The
// file is decoded strictly (an unknown key is an error that names it) and
// flags given on the command line override it.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Config is every podrund setting.
type Config struct {
	Socket              string          `json:"socket,omitempty"`
	SocketGroup         string          `json:"socketGroup,omitempty"` // name or gid that may use the socket; empty: root:root 0660
	Root                string          `json:"root,omitempty"`
	State               string          `json:"state,omitempty"`
	ContainerdAddress   string          `json:"containerdAddress,omitempty"`
	Namespace           string          `json:"namespace,omitempty"`
	LogLevel            string          `json:"logLevel,omitempty"`
	Policy              *Policy         `json:"policy,omitempty"` // nil: no policy, everything allowed (as under the kubelet)
	CNI                 CNI             `json:"cni,omitempty"`
	LogRotation         LogRotation     `json:"logRotation,omitempty"`
	ImagePull           ImagePull       `json:"imagePull,omitempty"`
	ShutdownGracePeriod metav1.Duration `json:"shutdownGracePeriod,omitempty"`
	ConcurrentPodStarts int             `json:"concurrentPodStarts,omitempty"`
	// Pprof serves net/http/pprof under /debug/pprof/ on the API socket.
	Pprof  bool   `json:"pprof,omitempty"`
	Memory Memory `json:"memory,omitempty"`
	// PrepareAhead creates a pod's later containers (process not started)
	// while its earlier ones start, during the pod's initialization; each
	// still starts only at its turn (supervisor.Options.PrepareAhead).
	PrepareAhead bool `json:"prepareAhead,omitempty"`
	// LocalStorageCheckInterval is how often the disk use of pods with a
	// local storage limit (emptyDir sizeLimit, ephemeral-storage limits) is
	// measured; a pod over a limit is evicted, as by the kubelet's eviction
	// manager, whose housekeeping interval is the default.
	LocalStorageCheckInterval metav1.Duration `json:"localStorageCheckInterval,omitempty"`
	// EmbeddedContainerd lets podrund start a containerd of its own on
	// ContainerdAddress when nothing listens there. false: podrund waits
	// for the containerd at ContainerdAddress however long it takes and
	// never starts one. Unset: as true only where containerd is not a
	// service of this host and the address is the default one
	// (runtime.EmbedContainerd); an address given explicitly is waited for.
	EmbeddedContainerd *bool `json:"embeddedContainerd,omitempty"`
	// Limits bound the API's long-lived sessions and request time.
	Limits Limits `json:"limits,omitempty"`
	// ManifestDir holds the Pods, Jobs, ConfigMaps and Secrets the device
	// runs: applied at start and whenever it changes (daemon/manifests).
	// "": none.
	ManifestDir string `json:"manifestDir,omitempty"`
	// ImageDir holds image archives imported at start, before the
	// manifests, and whenever it changes (daemon/imagedir). "": none.
	ImageDir string `json:"imageDir,omitempty"`
	// ListenHTTPS, when set (HOST:PORT), also serves the API over TLS
	// there, to clients with a certificate of podrund's own CA only
	// (podctl kubeconfig makes one); empty: the unix socket alone.
	ListenHTTPS string `json:"listenHTTPS,omitempty"`
	// LogWriter is who writes the container logs: "shared", one
	// podrund-logger process for all containers that outlives podrund
	// restarts, or "perContainer", one started by the shim per container
	// (containerd's binary:// log driver; also the fallback when the
	// shared one cannot be started).
	LogWriter string `json:"logWriter,omitempty"`
	// ShimGrouping says which containers share one containerd runc v2
	// shim: ShimGroupingPod or ShimGroupingNode (ShimGroupings).
	ShimGrouping string `json:"shimGrouping,omitempty"`
}

// The shimGrouping values. pod runs one shim per pod, as containerd's CRI
// plugin groups a sandbox's containers: a shim that dies takes one pod's
// containers with it. node runs one shim for every pod of this podrund:
// one shim's memory instead of one per pod, but a shim that dies takes
// every pod's containers (BENCHMARKS.md, "The device").
const (
	ShimGroupingPod  = "pod"
	ShimGroupingNode = "node"
)

// ShimGroupings are the values shimGrouping accepts.
var ShimGroupings = []string{ShimGroupingPod, ShimGroupingNode}

// Limits cap what API clients can hold open at once (one more gets 429
// TooManyRequests with Retry-After) and how long an ordinary request may
// take (watches, log follows, exec and image transfers are exempt).
type Limits struct {
	MaxWatches      int             `json:"maxWatches,omitempty"`
	MaxLogFollows   int             `json:"maxLogFollows,omitempty"`
	MaxExecSessions int             `json:"maxExecSessions,omitempty"`
	RequestTimeout  metav1.Duration `json:"requestTimeout,omitempty"`
	// MaxJobPodCreatesPerSync caps the pods one Sync of a Job creates (in
	// slow-start batches); the next Sync creates the next ones.
	MaxJobPodCreatesPerSync int `json:"maxJobPodCreatesPerSync,omitempty"`
}

// Memory tunes the Go runtime of podrund (GOGC and GOMEMLIMIT in the
// environment override it).
type Memory struct {
	// GCPercent is Go's GOGC: how far, in percent of the live heap, the
	// heap may grow before the next collection.
	GCPercent int `json:"gcPercent,omitempty"`
	// SoftLimitBytes is Go's soft memory limit (GOMEMLIMIT): near it the
	// collector works harder and returns freed pages to the OS at once.
	// 0: no limit. Default DefaultSoftLimitBytes.
	SoftLimitBytes int64 `json:"softLimitBytes,omitempty"`
}

// Policy limits what pods may ask of the host: a Pod Security Standards
// level (the API server's PodSecurity admission rules) for every pod and
// Job template, per-namespace levels like the
// pod-security.kubernetes.io/enforce label, hostPath prefixes exempt from
// the hostPath ban, and the node's unsafe sysctls.
type Policy struct {
	// Level is privileged, baseline or restricted; empty is baseline, so
	// a policy block that names no level still keeps pods off the host.
	Level string `json:"level,omitempty"`
	// Namespaces overrides Level for pods of the named namespaces.
	Namespaces map[string]string `json:"namespaces,omitempty"`
	// AllowedHostPaths are prefixes a hostPath volume may use; a hostPath
	// under one is exempt from the level's hostPath ban. Empty: the level
	// alone decides (privileged admits every hostPath).
	AllowedHostPaths []HostPathPrefix `json:"allowedHostPaths,omitempty"`
	// AllowedUnsafeSysctls are sysctls besides the safe set: names or prefixes ending in "*".
	AllowedUnsafeSysctls []string `json:"allowedUnsafeSysctls,omitempty"`

	// AllowPrivileged and AllowHostNamespaces are the keys before Level;
	// they are decoded only to be refused with a pointer to Level.
	AllowPrivileged     *bool `json:"allowPrivileged,omitempty"`
	AllowHostNamespaces *bool `json:"allowHostNamespaces,omitempty"`
}

// HostPathPrefix is one allowedHostPaths entry: a plain string (the
// prefix) or {pathPrefix: P, readOnly: true}, as PodSecurityPolicy's
// allowedHostPaths. ReadOnly requires every mount of such a volume to be
// readOnly.
type HostPathPrefix struct {
	Prefix   string `json:"pathPrefix"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// UnmarshalJSON accepts both forms, the object one strictly.
func (h *HostPathPrefix) UnmarshalJSON(data []byte) error {
	var prefix string
	if err := json.Unmarshal(data, &prefix); err == nil {
		*h = HostPathPrefix{Prefix: prefix}
		return nil
	}
	type plain HostPathPrefix // without this method
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("allowedHostPaths entry: want a path or {pathPrefix, readOnly}: %w", err)
	}
	*h = HostPathPrefix(p)
	return nil
}

// Levels are the Pod Security Standards levels policy.level accepts.
var Levels = []string{"privileged", "baseline", "restricted"}

// CNI locates network configuration and plugins; an empty ConfDir means
// loopback-only pod networking.
type CNI struct {
	ConfDir string `json:"confDir,omitempty"`
	BinDir  string `json:"binDir,omitempty"`
}

// The values of Config.LogWriter.
const (
	LogWriterShared       = "shared"
	LogWriterPerContainer = "perContainer"
)

// LogRotation bounds each container instance's log file.
type LogRotation struct {
	MaxSizeBytes int64 `json:"maxSizeBytes,omitempty"`
	MaxFiles     int   `json:"maxFiles,omitempty"`
}

// ImagePull configures registry access.
type ImagePull struct {
	DockerConfig        string   `json:"dockerConfig,omitempty"`        // path of a docker config.json with credentials
	PlainHTTPRegistries []string `json:"plainHTTPRegistries,omitempty"` // host[:port] reached over plain HTTP (localhost always is)
}

// DefaultGCPercent is podrund's GOGC. podrund's live heap is small (a few
// MiB idle) and it allocates little once pods run, so collecting at half
// the Go default growth costs little CPU and keeps the idle footprint low.
const DefaultGCPercent = 50

// DefaultSoftLimitBytes is podrund's GOMEMLIMIT: 128 MiB. podrund idles
// at about 25 MiB RSS and stays under 30 MiB serving a follower of a
// 1 GiB log bomb, so the limit is never near in normal work; it is a
// ceiling for what nothing else bounds (a burst of big objects, a leak):
// there the collector runs more often and hands pages back promptly
// instead of letting the heap double. It is soft: podrund slows down
// near it rather than failing, and Go's collector never takes more than
// half the CPU to hold it. Lower would make a host with thousands of pods
// (their records are in memory) pay in GC time; higher would not be a
// ceiling on a small host.
const DefaultSoftLimitBytes = 128 << 20

// Defaults are the values of docs/contract.md §1.
func Defaults() Config {
	return Config{
		Socket:              "/run/podrund/podrund.sock",
		Root:                "/var/lib/podrund",
		State:               "/run/podrund",
		ContainerdAddress:   "/run/containerd/containerd.sock",
		Namespace:           "podrun",
		LogLevel:            "info",
		CNI:                 CNI{BinDir: "/opt/cni/bin:/usr/lib/cni"},
		LogRotation:         LogRotation{MaxSizeBytes: 10 << 20, MaxFiles: 5},
		LogWriter:           LogWriterShared,
		ShutdownGracePeriod: metav1.Duration{Duration: 30 * time.Second},
		ConcurrentPodStarts: 4,
		Memory:              Memory{GCPercent: DefaultGCPercent, SoftLimitBytes: DefaultSoftLimitBytes},
		PrepareAhead:        true,
		// The kubelet's eviction housekeeping interval.
		LocalStorageCheckInterval: metav1.Duration{Duration: 10 * time.Second},
		// The concurrency caps sit far above what podctl opens for one
		// person (get -w and apply --wait hold one watch, logs -f one
		// follow per container) and far below what costs memory; the
		// timeout is the API server's default request timeout.
		// 500 pods per Job sync is kube-controller-manager's burstReplicas.
		Limits: Limits{MaxWatches: 100, MaxLogFollows: 50, MaxExecSessions: 20,
			RequestTimeout: metav1.Duration{Duration: 60 * time.Second}, MaxJobPodCreatesPerSync: 500},
		ManifestDir: "/etc/podrun/manifests",
		ImageDir:    "/var/lib/podrun/images",
		// The CRI plugin's grouping: a shim crash costs one pod.
		ShimGrouping: ShimGroupingPod,
	}
}

// Parse decodes a config file strictly on top of base.
func Parse(data []byte, base Config) (Config, error) {
	c := base
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return Config{}, fmt.Errorf("decode config: %w", err)
	}
	return c, nil
}

// LoadFile reads and decodes a config file on top of base.
func LoadFile(path string, base Config) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config file: %w", err)
	}
	c, err := Parse(data, base)
	if err != nil {
		return Config{}, fmt.Errorf("config file %s: %w", path, err)
	}
	return c, nil
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	need := map[string]string{"socket": c.Socket, "root": c.Root, "state": c.State,
		"containerdAddress": c.ContainerdAddress, "namespace": c.Namespace}
	for k, v := range need {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s must not be empty", k))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("logLevel %q: must be debug, info, warn or error", c.LogLevel))
	}
	if c.Policy != nil {
		errs = append(errs, c.Policy.validate()...)
	}
	if c.LogRotation.MaxSizeBytes < 0 || c.LogRotation.MaxFiles < 0 {
		errs = append(errs, errors.New("logRotation: maxSizeBytes and maxFiles must not be negative"))
	}
	if c.LogWriter != "" && c.LogWriter != LogWriterShared && c.LogWriter != LogWriterPerContainer {
		errs = append(errs, fmt.Errorf("logWriter %q: must be %s or %s", c.LogWriter, LogWriterShared, LogWriterPerContainer))
	}
	if c.ShutdownGracePeriod.Duration < 0 {
		errs = append(errs, errors.New("shutdownGracePeriod must not be negative"))
	}
	if d := c.LocalStorageCheckInterval.Duration; d < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("localStorageCheckInterval %s: must be at least 100ms", d))
	}
	if c.ListenHTTPS != "" {
		if _, port, err := net.SplitHostPort(c.ListenHTTPS); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("listenHTTPS %q: must be HOST:PORT (e.g. 127.0.0.1:6443 or :6443)", c.ListenHTTPS))
		}
	}
	if c.Memory.GCPercent < 1 {
		errs = append(errs, fmt.Errorf("memory.gcPercent %d: must be at least 1", c.Memory.GCPercent))
	}
	if c.Memory.SoftLimitBytes < 0 {
		errs = append(errs, errors.New("memory.softLimitBytes must not be negative"))
	}
	for _, l := range []struct {
		key string
		v   int
	}{{"limits.maxWatches", c.Limits.MaxWatches}, {"limits.maxLogFollows", c.Limits.MaxLogFollows},
		{"limits.maxExecSessions", c.Limits.MaxExecSessions}, {"limits.maxJobPodCreatesPerSync", c.Limits.MaxJobPodCreatesPerSync}} {
		if l.v < 1 {
			errs = append(errs, fmt.Errorf("%s %d: must be at least 1", l.key, l.v))
		}
	}
	if d := c.Limits.RequestTimeout.Duration; d < time.Second {
		errs = append(errs, fmt.Errorf("limits.requestTimeout %s: must be at least 1s", d))
	}
	for key, dir := range map[string]string{"manifestDir": c.ManifestDir, "imageDir": c.ImageDir} {
		if dir != "" && !filepath.IsAbs(dir) {
			errs = append(errs, fmt.Errorf("%s %q: must be an absolute path (or empty: none)", key, dir))
		}
	}
	if !slices.Contains(ShimGroupings, c.ShimGrouping) {
		errs = append(errs, fmt.Errorf("shimGrouping %q: must be one of %s", c.ShimGrouping, strings.Join(ShimGroupings, ", ")))
	}
	if c.ConcurrentPodStarts < 1 {
		errs = append(errs, fmt.Errorf("concurrentPodStarts %d: must be at least 1", c.ConcurrentPodStarts))
	}
	return errors.Join(errs...)
}

// Flags are podrund's command-line flags bound to a Config.
type Flags struct {
	fs       *pflag.FlagSet
	file     string
	v        Config
	embedded bool
}

// AddFlags registers the flags of docs/contract.md §1 on fs, plus --pprof
// (podrun's own, for profiling) and --prepare-ahead.
func AddFlags(fs *pflag.FlagSet) *Flags {
	d := Defaults()
	f := &Flags{fs: fs}
	fs.StringVar(&f.v.Socket, "socket", d.Socket, "API socket (mode 0660)")
	fs.StringVar(&f.v.SocketGroup, "socket-group", d.SocketGroup,
		"group (name or gid) that may use the API socket; root-equivalent unless a policy is set")
	fs.StringVar(&f.v.Root, "root", d.Root, "persistent state: store, logs, volumes")
	fs.StringVar(&f.v.State, "state", d.State, "runtime state: namespaces, sockets")
	fs.StringVar(&f.v.ContainerdAddress, "containerd-address", d.ContainerdAddress, "containerd socket")
	fs.BoolVar(&f.embedded, "embedded-containerd", false,
		"start a containerd of podrund's own on --containerd-address when nothing listens there; false: always wait for one "+
			"(default: only on hosts where containerd is not a service and the address is the default)")
	fs.StringVar(&f.v.Namespace, "namespace", d.Namespace, "containerd namespace that podrund owns")
	fs.StringVar(&f.file, "config", "", "optional YAML config file: the same settings plus policy, CNI, log rotation, image pull")
	fs.StringVar(&f.v.LogLevel, "log-level", d.LogLevel, "debug|info|warn|error")
	fs.BoolVar(&f.v.Pprof, "pprof", d.Pprof, "also serve net/http/pprof under /debug/pprof/ on the API socket")
	fs.BoolVar(&f.v.PrepareAhead, "prepare-ahead", d.PrepareAhead,
		"create a pod's later containers while its earlier ones start; each still starts at its turn")
	fs.StringVar(&f.v.ManifestDir, "manifest-dir", d.ManifestDir,
		"directory of manifests applied at start and on every change; empty: none")
	fs.StringVar(&f.v.ImageDir, "image-dir", d.ImageDir,
		"directory of image archives imported at start and on every change; empty: none")
	fs.StringVar(&f.v.ListenHTTPS, "listen-https", d.ListenHTTPS,
		"also serve the API over HTTPS on HOST:PORT, to client certificates of podrund's own CA only (podctl kubeconfig)")
	fs.StringVar(&f.v.ShimGrouping, "shim-grouping", d.ShimGrouping,
		"containers sharing one runc shim: pod (one shim per pod) or node (one shim for all pods: less memory, "+
			"but a shim crash restarts every pod's containers)")
	return f
}

// Resolve gives the effective config: defaults, then the file, then the
// flags that were given on the command line.
func (f *Flags) Resolve() (Config, error) {
	c := Defaults()
	if f.file != "" {
		var err error
		if c, err = LoadFile(f.file, c); err != nil {
			return Config{}, err
		}
	}
	set := map[string]func(){
		"socket":             func() { c.Socket = f.v.Socket },
		"socket-group":       func() { c.SocketGroup = f.v.SocketGroup },
		"root":               func() { c.Root = f.v.Root },
		"state":              func() { c.State = f.v.State },
		"containerd-address": func() { c.ContainerdAddress = f.v.ContainerdAddress },
		"namespace":          func() { c.Namespace = f.v.Namespace },
		"log-level":          func() { c.LogLevel = f.v.LogLevel },
		"pprof":              func() { c.Pprof = f.v.Pprof },
		"prepare-ahead":      func() { c.PrepareAhead = f.v.PrepareAhead },
		"manifest-dir":       func() { c.ManifestDir = f.v.ManifestDir },
		"image-dir":          func() { c.ImageDir = f.v.ImageDir },
		"listen-https":       func() { c.ListenHTTPS = f.v.ListenHTTPS },
		"shim-grouping":      func() { c.ShimGrouping = f.v.ShimGrouping },
	}
	for name, apply := range set {
		if f.fs.Changed(name) {
			apply()
		}
	}
	if f.fs.Changed("embedded-containerd") {
		c.EmbeddedContainerd = &f.embedded
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

func (p *Policy) validate() []error {
	var errs []error
	if p.AllowPrivileged != nil {
		errs = append(errs, errors.New("policy.allowPrivileged is replaced by policy.level: use level: privileged (or baseline)"))
	}
	if p.AllowHostNamespaces != nil {
		errs = append(errs, errors.New("policy.allowHostNamespaces is replaced by policy.level: use level: privileged (or baseline)"))
	}
	if p.Level != "" && !slices.Contains(Levels, p.Level) {
		errs = append(errs, fmt.Errorf("policy.level %q: must be one of %s", p.Level, strings.Join(Levels, ", ")))
	}
	for _, ns := range slices.Sorted(maps.Keys(p.Namespaces)) {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("policy.namespaces: %q is not a namespace name: %s", ns, strings.Join(msgs, "; ")))
		}
		if l := p.Namespaces[ns]; !slices.Contains(Levels, l) {
			errs = append(errs, fmt.Errorf("policy.namespaces.%s %q: must be one of %s", ns, l, strings.Join(Levels, ", ")))
		}
	}
	for _, h := range p.AllowedHostPaths {
		if !filepath.IsAbs(h.Prefix) {
			errs = append(errs, fmt.Errorf("policy.allowedHostPaths: %q is not an absolute path", h.Prefix))
		}
	}
	return errs
}
