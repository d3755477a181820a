package secopts

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	psapi "k8s.io/pod-security-admission/api"
	pspolicy "k8s.io/pod-security-admission/policy"
)

// Policy is what the daemon's config file allows pods to ask for. A nil
// *Policy allows everything, as the kubelet does (only root reaches the
// socket). It is checked when a pod or Job is submitted and when the Job
// controller creates a pod, so a refused pod never starts.
//
// The core is a Pod Security Standards level checked with the API server's
// own PodSecurity rules (k8s.io/pod-security-admission), so "baseline"
// refuses exactly what a cluster's baseline namespace refuses: privileged,
// added capabilities beyond the default set, host namespaces and ports,
// procMount Unmasked, seccomp Unconfined, hostPath volumes, ...
type Policy struct {
	level      psapi.Level
	namespaces map[string]psapi.Level
	hostPaths  []HostPathPrefix
	sysctls    []string
	eval       pspolicy.Evaluator
}

// HostPathPrefix is a host path prefix hostPath volumes may use. ReadOnly
// requires every mount of a volume under it to be readOnly.
type HostPathPrefix struct {
	Prefix   string
	ReadOnly bool
}

// PolicyConfig is the policy as the config file states it.
type PolicyConfig struct {
	// Level is privileged, baseline or restricted ("" is baseline).
	Level string
	// Namespaces overrides Level per namespace, as the
	// pod-security.kubernetes.io/enforce label of a Namespace does.
	Namespaces map[string]string
	// AllowedHostPaths are prefixes exempt from the level's hostPath ban
	// ("/var/log" admits /var/log and /var/log/app, not /var/logs). Non-empty,
	// it also confines hostPaths at level privileged.
	AllowedHostPaths []HostPathPrefix
	// AllowedUnsafeSysctls are sysctls besides the safe set, each a name or a
	// prefix ending in "*" (the kubelet's --allowed-unsafe-sysctls).
	AllowedUnsafeSysctls []string
}

// NewPolicy checks the levels and builds the PodSecurity evaluator once.
func NewPolicy(cfg PolicyConfig) (*Policy, error) {
	level, err := parseLevel(cfg.Level)
	if err != nil {
		return nil, fmt.Errorf("policy.level: %w", err)
	}
	p := &Policy{level: level, namespaces: map[string]psapi.Level{},
		hostPaths: slices.Clone(cfg.AllowedHostPaths), sysctls: slices.Clone(cfg.AllowedUnsafeSysctls)}
	for ns, l := range cfg.Namespaces {
		if p.namespaces[ns], err = parseLevel(l); err != nil {
			return nil, fmt.Errorf("policy.namespaces.%s: %w", ns, err)
		}
	}
	if p.eval, err = pspolicy.NewEvaluator(pspolicy.DefaultChecks(), nil); err != nil {
		return nil, fmt.Errorf("pod security checks: %w", err)
	}
	return p, nil
}

func parseLevel(s string) (psapi.Level, error) {
	if s == "" {
		return psapi.LevelBaseline, nil
	}
	return psapi.ParseLevel(s)
}

// LevelFor is the level pods of namespace ns are held to.
func (p *Policy) LevelFor(ns string) psapi.Level {
	if l, ok := p.namespaces[ns]; ok {
		return l
	}
	return p.level
}

// Forbidden returns why the policy refuses a pod with this metadata and
// spec, or nil. The Pod Security Standards part is worded as the API
// server's PodSecurity admission words it (`violates PodSecurity
// "baseline:latest": privileged (container "x" must not set
// securityContext.privileged=true), ...`), so the caller makes it a 403.
func (p *Policy) Forbidden(meta *metav1.ObjectMeta, spec *corev1.PodSpec) error {
	if p == nil {
		return nil
	}
	var reasons []string
	lv := psapi.LevelVersion{Level: p.LevelFor(meta.Namespace), Version: psapi.LatestVersion()}
	result := pspolicy.AggregateCheckResults(p.eval.EvaluatePod(lv, meta, p.withoutExemptHostPaths(spec)))
	if !result.Allowed {
		reasons = append(reasons, fmt.Sprintf("violates PodSecurity %q: %s", lv.String(), result.ForbiddenDetail()))
	}
	reasons = append(reasons, p.hostPathReasons(lv.Level, spec)...)
	if len(reasons) == 0 {
		return nil
	}
	return errors.New(strings.Join(reasons, "; "))
}

// withoutExemptHostPaths hides from the PodSecurity checks the hostPath
// volumes under an allowed prefix (they become emptyDirs of the same name),
// so allowedHostPaths exempts them from the hostPath ban and nothing else.
func (p *Policy) withoutExemptHostPaths(spec *corev1.PodSpec) *corev1.PodSpec {
	if len(p.hostPaths) == 0 || !slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.HostPath != nil }) {
		return spec
	}
	out := *spec
	out.Volumes = slices.Clone(spec.Volumes)
	for i, v := range out.Volumes {
		if v.HostPath != nil {
			if _, ok := p.matchHostPath(v.HostPath.Path); ok {
				out.Volumes[i].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
			}
		}
	}
	return &out
}

// hostPathReasons applies allowedHostPaths itself: outside every prefix a
// hostPath is refused (at baseline and restricted the PodSecurity check
// already said so), and under only readOnly prefixes every mount of it
// must be readOnly, as PodSecurityPolicy's readOnly allowedHostPaths.
func (p *Policy) hostPathReasons(level psapi.Level, spec *corev1.PodSpec) []string {
	if len(p.hostPaths) == 0 {
		return nil
	}
	var reasons []string
	for _, v := range spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		readOnly, ok := p.matchHostPath(v.HostPath.Path)
		switch {
		case !ok && level == psapi.LevelPrivileged:
			reasons = append(reasons, fmt.Sprintf("hostPath volume %q: %s is not under policy.allowedHostPaths (%s)",
				v.Name, v.HostPath.Path, p.prefixList()))
		case ok && readOnly:
			if cs := writableMounts(spec, v.Name); len(cs) > 0 {
				reasons = append(reasons, fmt.Sprintf("hostPath volume %q: %s is under a readOnly allowedHostPaths prefix, so %s must set volumeMounts readOnly: true",
					v.Name, v.HostPath.Path, quoteContainers(cs)))
			}
		}
	}
	return reasons
}

// matchHostPath compares cleaned paths element-wise, so ".." cannot climb
// out of a prefix and "/var/logs" does not match "/var/log". A path under
// a writable prefix is writable even if a readOnly prefix matches too.
func (p *Policy) matchHostPath(path string) (readOnly, ok bool) {
	clean := filepath.Clean("/" + path)
	readOnly = true
	for _, h := range p.hostPaths {
		pre := filepath.Clean("/" + h.Prefix)
		if clean == pre || pre == "/" || strings.HasPrefix(clean, pre+"/") {
			ok = true
			readOnly = readOnly && h.ReadOnly
		}
	}
	return readOnly && ok, ok
}

func (p *Policy) prefixList() string {
	var s []string
	for _, h := range p.hostPaths {
		s = append(s, h.Prefix)
	}
	return strings.Join(s, ", ")
}

// writableMounts names the containers (of every kind) that mount volume
// read-write.
func writableMounts(spec *corev1.PodSpec, volume string) []string {
	var names []string
	check := func(name string, mounts []corev1.VolumeMount) {
		for _, m := range mounts {
			if m.Name == volume && !m.ReadOnly {
				names = append(names, name)
				return
			}
		}
	}
	for _, c := range spec.InitContainers {
		check(c.Name, c.VolumeMounts)
	}
	for _, c := range spec.Containers {
		check(c.Name, c.VolumeMounts)
	}
	for _, c := range spec.EphemeralContainers {
		check(c.Name, c.VolumeMounts)
	}
	return names
}

func quoteContainers(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return "container " + q[0]
	}
	return "containers " + strings.Join(q, ", ")
}

// Check returns the pod's node-level violations with field paths (422):
// sysctls outside the safe set and allowedUnsafeSysctls, which the kubelet
// refuses whatever the namespace's level.
func (p *Policy) Check(pod *corev1.Pod) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	if psc := pod.Spec.SecurityContext; psc != nil {
		for i, s := range psc.Sysctls {
			if !IsSafeSysctl(s.Name) && !p.unsafeSysctlAllowed(s.Name) {
				errs = append(errs, field.Forbidden(field.NewPath("spec", "securityContext", "sysctls").Index(i).Child("name"),
					"unsafe sysctl "+s.Name+" is not allowed by the podrund policy"))
			}
		}
	}
	return errs
}

func (p *Policy) unsafeSysctlAllowed(name string) bool {
	name = normalizeSysctl(name)
	for _, a := range p.sysctls {
		if a == name || strings.HasSuffix(a, "*") && strings.HasPrefix(name, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}
