package api

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits the API server enforces on dnsConfig.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxActiveDeadline     = 1<<31 - 1
	activeDeadlineRangeMs = "must be between 1 and 2147483647, inclusive"
)

// ValidatePod validates a defaulted Pod (docs/semantics.md §A) and reports
// every violation with its field path.
func ValidatePod(pod *corev1.Pod) field.ErrorList {
	errs := validateObjectMeta(&pod.ObjectMeta, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, ValidatePodSpec(&pod.Spec, field.NewPath("spec"))...)
	return append(errs, validatePodOnly(&pod.Spec, field.NewPath("spec"))...)
}

// validatePodOnly holds the checks the API server makes of a Pod and not
// of a pod template (a Job's template with them is accepted; its pods are
// refused when created).
func validatePodOnly(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	check := func(cs []corev1.Container, p *field.Path) {
		for i, c := range cs {
			if strings.TrimSpace(c.Image) != c.Image {
				errs = append(errs, field.Invalid(p.Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
			}
		}
	}
	check(spec.InitContainers, fldPath.Child("initContainers"))
	check(spec.Containers, fldPath.Child("containers"))
	return errs
}

// ValidatePodSpec validates a pod spec; fldPath is "spec" for a Pod and
// "spec.template.spec" for a Job.
func ValidatePodSpec(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	volumes, errs := validateVolumes(spec.Volumes, fldPath.Child("volumes"))
	errs = append(errs, validateContainerNames(spec, fldPath)...)
	errs = append(errs, validateInitContainers(spec, volumes, fldPath.Child("initContainers"))...)
	errs = append(errs, validateContainers(spec, volumes, fldPath.Child("containers"))...)
	errs = append(errs, validateRestartPolicy(spec.RestartPolicy, fldPath.Child("restartPolicy"))...)
	errs = append(errs, validateDNS(spec, fldPath)...)
	errs = append(errs, validateHostAliases(spec.HostAliases, fldPath.Child("hostAliases"))...)
	errs = append(errs, validateHostNetworkPorts(spec, fldPath)...)
	errs = append(errs, validateScheduling(spec, fldPath)...)
	if d := spec.ActiveDeadlineSeconds; d != nil && (*d < 1 || *d > maxActiveDeadline) {
		errs = append(errs, field.Invalid(fldPath.Child("activeDeadlineSeconds"), *d, activeDeadlineRangeMs))
	}
	if spec.Hostname != "" {
		errs = append(errs, validateDNSLabel(spec.Hostname, fldPath.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, validateDNSLabel(spec.Subdomain, fldPath.Child("subdomain"))...)
	}
	if spec.ServiceAccountName != "" {
		errs = append(errs, validateDNSSubdomain(spec.ServiceAccountName, fldPath.Child("serviceAccountName"))...)
	}
	errs = append(errs, validateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	errs = append(errs, validatePodSecurityContext(spec.SecurityContext, fldPath.Child("securityContext"))...)
	return errs
}

// validateContainerNames: at least one regular container (R9); names are
// DNS-1123 labels unique across init (plain and sidecar) and regular
// containers (R5).
func validateContainerNames(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Containers) == 0 {
		errs = append(errs, field.Required(fldPath.Child("containers"), ""))
	}
	seen := sets.New[string]()
	check := func(c *corev1.Container, p *field.Path) {
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(p, ""))
		case seen.Has(c.Name):
			errs = append(errs, field.Duplicate(p, c.Name))
		default:
			errs = append(errs, validateDNSLabel(c.Name, p)...)
		}
		seen.Insert(c.Name)
	}
	for i := range spec.InitContainers {
		check(&spec.InitContainers[i], fldPath.Child("initContainers").Index(i).Child("name"))
	}
	for i := range spec.Containers {
		check(&spec.Containers[i], fldPath.Child("containers").Index(i).Child("name"))
	}
	return errs
}

func validateRestartPolicy(p corev1.RestartPolicy, fldPath *field.Path) field.ErrorList {
	return validateEnum(p, fldPath, corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)
}

func validateDNS(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch spec.DNSPolicy {
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet, corev1.DNSDefault:
	case corev1.DNSNone:
		if spec.DNSConfig == nil {
			errs = append(errs, field.Required(fldPath.Child("dnsConfig"),
				fmt.Sprintf("must provide `dnsConfig` when `dnsPolicy` is %s", corev1.DNSNone)))
		}
	case "":
		errs = append(errs, field.Required(fldPath.Child("dnsPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("dnsPolicy"), spec.DNSPolicy, []corev1.DNSPolicy{
			corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}))
	}
	cfg := spec.DNSConfig
	if cfg == nil {
		return errs
	}
	p := fldPath.Child("dnsConfig")
	if spec.DNSPolicy == corev1.DNSNone && len(cfg.Nameservers) == 0 {
		// The API server says only this, judging nothing else of dnsConfig.
		return append(errs, field.Required(p.Child("nameservers"),
			fmt.Sprintf("must provide at least one DNS nameserver when `dnsPolicy` is %s", corev1.DNSNone)))
	}
	if len(cfg.Nameservers) > maxDNSNameservers {
		errs = append(errs, field.Invalid(p.Child("nameservers"), cfg.Nameservers,
			fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range cfg.Nameservers {
		errs = append(errs, validateLegacyIP(ns, p.Child("nameservers").Index(i))...)
	}
	if len(cfg.Searches) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(p.Child("searches"), cfg.Searches,
			fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	// The space between search paths counts, as in the API server.
	if len(strings.Join(cfg.Searches, " ")) > maxDNSSearchListChars {
		errs = append(errs, field.Invalid(p.Child("searches"), cfg.Searches,
			fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", maxDNSSearchListChars)))
	}
	for i, s := range cfg.Searches {
		// "." alone and a trailing dot are fine, as in the API server.
		if s == "." {
			continue
		}
		errs = append(errs, invalidEach(p.Child("searches").Index(i), strings.TrimSuffix(s, "."),
			validation.IsDNS1123SubdomainWithUnderscore(strings.TrimSuffix(s, ".")))...)
	}
	for i, o := range cfg.Options {
		errs = append(errs, validateDNSOption(o, p.Child("options").Index(i))...)
	}
	return errs
}

// validateHostNetworkPorts: with hostNetwork, a hostPort must equal its
// containerPort (the defaulting made an unset one equal).
func validateHostNetworkPorts(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	if !spec.HostNetwork {
		return nil
	}
	var errs field.ErrorList
	check := func(cs []corev1.Container, p *field.Path) {
		for i := range cs {
			for j, port := range cs[i].Ports {
				if port.HostPort != port.ContainerPort {
					errs = append(errs, field.Invalid(p.Index(i).Child("ports").Index(j).Child("hostPort"), port.HostPort,
						"must match `containerPort` when `hostNetwork` is true"))
				}
			}
		}
	}
	check(spec.InitContainers, fldPath.Child("initContainers"))
	check(spec.Containers, fldPath.Child("containers"))
	return errs
}

func validatePodSecurityContext(sc *corev1.PodSecurityContext, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := validateRunAs(sc.RunAsUser, sc.RunAsGroup, fldPath)
	if sc.FSGroup != nil {
		errs = append(errs, invalidEach(fldPath.Child("fsGroup"), *sc.FSGroup, validation.IsValidGroupID(*sc.FSGroup))...)
	}
	for i, g := range sc.SupplementalGroups {
		errs = append(errs, invalidEach(fldPath.Child("supplementalGroups").Index(i), g, validation.IsValidGroupID(g))...)
	}
	if p := sc.FSGroupChangePolicy; p != nil {
		errs = append(errs, validateEnum(*p, fldPath.Child("fsGroupChangePolicy"), corev1.FSGroupChangeAlways, corev1.FSGroupChangeOnRootMismatch)...)
	}
	errs = append(errs, validateProfiles(sc.SeccompProfile, sc.AppArmorProfile, fldPath)...)
	return append(errs, validateSysctls(sc.Sysctls, fldPath.Child("sysctls"))...)
}

// validateRunAs checks the runAsUser and runAsGroup that container and pod
// security contexts both have.
func validateRunAs(user, group *int64, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if user != nil {
		errs = append(errs, invalidEach(fldPath.Child("runAsUser"), *user, validation.IsValidUserID(*user))...)
	}
	if group != nil {
		errs = append(errs, invalidEach(fldPath.Child("runAsGroup"), *group, validation.IsValidGroupID(*group))...)
	}
	return errs
}
