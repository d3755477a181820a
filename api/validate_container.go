package api

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

const forbiddenOnPlainInit = "may not be set for init containers without restartPolicy=Always"

// validateInitContainers applies R3, R4, R5 (host ports per init
// container), R8 and R100 on top of the checks every container gets.
func validateInitContainers(spec *corev1.PodSpec, volumes sets.Set[string], fldPath *field.Path) field.ErrorList {
	grace := ptr.Deref(spec.TerminationGracePeriodSeconds, DefaultTerminationGracePeriodSeconds)
	return validateEachContainer(spec.InitContainers, volumes, fldPath, func(i int, c *corev1.Container, p *field.Path) field.ErrorList {
		errs := validateInitContainerRestartPolicy(c, p)
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		if sidecar { // R4: validated exactly as on regular containers
			errs = append(errs, validateProbesAndLifecycle(c, grace, p)...)
		} else { // R3
			errs = append(errs, forbidOnPlainInit(c, p)...)
		}
		if len(c.ResizePolicy) > 0 { // R8
			errs = append(errs, field.Forbidden(p.Child("resizePolicy"), "must not be set for init containers"))
		}
		// R5: init containers run one at a time, so host ports only clash within one.
		return append(errs, validateHostPorts(spec.InitContainers[i:i+1], p.Child("ports"), false)...)
	})
}

// validateContainers checks regular containers (R4, R5, R100).
func validateContainers(spec *corev1.PodSpec, volumes sets.Set[string], fldPath *field.Path) field.ErrorList {
	grace := ptr.Deref(spec.TerminationGracePeriodSeconds, DefaultTerminationGracePeriodSeconds)
	errs := validateEachContainer(spec.Containers, volumes, fldPath, func(_ int, c *corev1.Container, p *field.Path) field.ErrorList {
		errs := validateContainerRestartPolicy(c, p) // R100
		errs = append(errs, validateProbesAndLifecycle(c, grace, p)...)
		return append(errs, validateResizePolicy(c.ResizePolicy, spec.RestartPolicy, p.Child("resizePolicy"))...)
	})
	// R5: regular containers run together, so their host ports are checked together.
	return append(errs, validateHostPorts(spec.Containers, fldPath, true)...)
}

// validateEachContainer runs the checks every container gets and then
// check, the ones of its kind, on each of cs in order.
func validateEachContainer(cs []corev1.Container, volumes sets.Set[string], fldPath *field.Path,
	check func(i int, c *corev1.Container, p *field.Path) field.ErrorList) field.ErrorList {
	var errs field.ErrorList
	for i := range cs {
		p := fldPath.Index(i)
		errs = append(errs, validateContainerCommon(&cs[i], volumes, p)...)
		errs = append(errs, check(i, &cs[i], p)...)
	}
	return errs
}

func forbidOnPlainInit(c *corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Lifecycle != nil {
		errs = append(errs, field.Forbidden(p.Child("lifecycle"), forbiddenOnPlainInit))
	}
	if c.LivenessProbe != nil {
		errs = append(errs, field.Forbidden(p.Child("livenessProbe"), forbiddenOnPlainInit))
	}
	if c.ReadinessProbe != nil {
		errs = append(errs, field.Forbidden(p.Child("readinessProbe"), forbiddenOnPlainInit))
	}
	if c.StartupProbe != nil {
		errs = append(errs, field.Forbidden(p.Child("startupProbe"), forbiddenOnPlainInit))
	}
	return errs
}

// validateContainerCommon holds the checks every container gets.
func validateContainerCommon(c *corev1.Container, volumes sets.Set[string], p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Image == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	}
	errs = append(errs, validateEnum(c.ImagePullPolicy, p.Child("imagePullPolicy"),
		corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever)...)
	errs = append(errs, validateEnum(c.TerminationMessagePolicy, p.Child("terminationMessagePolicy"),
		corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError)...)
	if c.WorkingDir != "" && !path.IsAbs(c.WorkingDir) {
		errs = append(errs, field.Invalid(p.Child("workingDir"), c.WorkingDir, "must be an absolute path"))
	}
	errs = append(errs, validatePorts(c.Ports, p.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, p.Child("envFrom"))...)
	privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, volumes, privileged, p.Child("volumeMounts"))...)
	if len(c.VolumeDevices) > 0 {
		errs = append(errs, notRunError(p.Child("volumeDevices"), notRunBlock))
	}
	errs = append(errs, validateResources(&c.Resources, p.Child("resources"))...)
	errs = append(errs, validateSecurityContext(c.SecurityContext, p.Child("securityContext"))...)
	return errs
}

func validatePorts(ports []corev1.ContainerPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fldPath.Index(i)
		if port.Name != "" {
			errs = append(errs, invalidEach(p.Child("name"), port.Name, validation.IsValidPortName(port.Name))...)
			if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
			}
			names.Insert(port.Name)
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			errs = append(errs, invalidEach(p.Child("containerPort"), port.ContainerPort, validation.IsValidPortNum(int(port.ContainerPort)))...)
		}
		if port.HostPort != 0 {
			errs = append(errs, invalidEach(p.Child("hostPort"), port.HostPort, validation.IsValidPortNum(int(port.HostPort)))...)
		}
		errs = append(errs, validateEnum(port.Protocol, p.Child("protocol"),
			corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP)...)
	}
	return errs
}

// validateHostPorts reports a host port used twice among containers (R5).
// With perContainerPaths the path is containers[i].ports[j].hostPort,
// otherwise fldPath already points at one container's ports.
func validateHostPorts(cs []corev1.Container, fldPath *field.Path, perContainerPaths bool) field.ErrorList {
	var errs field.ErrorList
	used := sets.New[string]()
	for i := range cs {
		for j, port := range cs[i].Ports {
			if port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", port.HostIP, port.Protocol, port.HostPort)
			p := fldPath.Index(j).Child("hostPort")
			if perContainerPaths {
				p = fldPath.Index(i).Child("ports").Index(j).Child("hostPort")
			}
			if used.Has(key) {
				errs = append(errs, field.Duplicate(p, key))
			}
			used.Insert(key)
		}
	}
	return errs
}

func validateSecurityContext(sc *corev1.SecurityContext, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := validateRunAs(sc.RunAsUser, sc.RunAsGroup, fldPath)
	if sc.ProcMount != nil {
		errs = append(errs, validateEnum(*sc.ProcMount, fldPath.Child("procMount"), corev1.DefaultProcMount, corev1.UnmaskedProcMount)...)
	}
	errs = append(errs, validateProfiles(sc.SeccompProfile, sc.AppArmorProfile, fldPath)...)
	if !ptr.Deref(sc.AllowPrivilegeEscalation, true) {
		if ptr.Deref(sc.Privileged, false) {
			errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil && containsCap(sc.Capabilities.Add, "SYS_ADMIN") {
			errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
		}
	}
	return errs
}

func containsCap(caps []corev1.Capability, want string) bool {
	for _, c := range caps {
		if strings.TrimPrefix(string(c), "CAP_") == want {
			return true
		}
	}
	return false
}

// validateResizePolicy checks a container's resize policy as the API
// server does (each error names the list, as there).
func validateResizePolicy(policies []corev1.ContainerResizePolicy, podRestart corev1.RestartPolicy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[corev1.ResourceName]()
	for i, rp := range policies {
		if seen.Has(rp.ResourceName) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), rp.ResourceName))
		}
		seen.Insert(rp.ResourceName)
		errs = append(errs, validateEnum(rp.ResourceName, fldPath, corev1.ResourceCPU, corev1.ResourceMemory)...)
		errs = append(errs, validateEnum(rp.RestartPolicy, fldPath, corev1.NotRequired, corev1.RestartContainer)...)
		if podRestart == corev1.RestartPolicyNever && rp.RestartPolicy != corev1.NotRequired {
			errs = append(errs, field.Invalid(fldPath, rp.RestartPolicy, "must be 'NotRequired' when pod `restartPolicy` is 'Never'"))
		}
	}
	return errs
}
