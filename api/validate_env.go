package api

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// envFieldPaths are the fieldRef paths the kubelet resolves for an env var.
func envFieldPaths() []string {
	return []string{
		"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
		"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
	}
}

// volumeFieldPaths are the fieldRef paths of a downwardAPI volume item.
func volumeFieldPaths() []string {
	return []string{"metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels", "metadata.annotations"}
}

// envResourceFields are the resourceFieldRef resources the downward API exposes.
func envResourceFields() []string {
	return []string{
		"limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
	}
}

func validateEnv(env []corev1.EnvVar, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range env {
		p := fldPath.Index(i)
		// RelaxedEnvironmentVariableValidation is GA (1.34): any printable ASCII but '='.
		errs = append(errs, requiredValid(p.Child("name"), ev.Name, validation.IsRelaxedEnvVarName)...)
		if ev.ValueFrom != nil {
			errs = append(errs, validateEnvVarSource(ev, p.Child("valueFrom"))...)
		}
	}
	return errs
}

// validateEnvVarSource: exactly one source, and not together with value.
func validateEnvVarSource(ev corev1.EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	vf := ev.ValueFrom
	n := 0
	if vf.FieldRef != nil {
		n++
		errs = append(errs, validateObjectFieldSelector(vf.FieldRef, envFieldPaths(), p.Child("fieldRef"))...)
	}
	if vf.ResourceFieldRef != nil {
		n++
		errs = append(errs, validateResourceFieldSelector(vf.ResourceFieldRef, p.Child("resourceFieldRef"))...)
	}
	if vf.ConfigMapKeyRef != nil {
		n++
		errs = append(errs, validateKeyRef(vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key, p.Child("configMapKeyRef"))...)
	}
	if vf.SecretKeyRef != nil {
		n++
		errs = append(errs, validateKeyRef(vf.SecretKeyRef.Name, vf.SecretKeyRef.Key, p.Child("secretKeyRef"))...)
	}
	if vf.FileKeyRef != nil {
		n++
		errs = append(errs, notRunError(p.Child("fileKeyRef"), notRunFileKey))
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(p, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case n > 1:
		errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
	}
	if ev.Value != "" && n > 0 {
		errs = append(errs, field.Invalid(p, "", "may not be specified when `value` is not empty"))
	}
	return errs
}

func validateObjectFieldSelector(f *corev1.ObjectFieldSelector, supported []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.APIVersion == "" {
		errs = append(errs, field.Required(p.Child("apiVersion"), ""))
	} else if f.APIVersion != "v1" {
		errs = append(errs, field.NotSupported(p.Child("apiVersion"), f.APIVersion, []string{"v1"}))
	}
	fp := p.Child("fieldPath")
	switch {
	case f.FieldPath == "":
		errs = append(errs, field.Required(fp, ""))
	case strings.HasPrefix(f.FieldPath, "metadata.labels[") || strings.HasPrefix(f.FieldPath, "metadata.annotations["):
		if !strings.HasSuffix(f.FieldPath, "]") {
			errs = append(errs, field.Invalid(fp, f.FieldPath, "error converting fieldPath: invalid subscript"))
		}
	default:
		if !contains(supported, f.FieldPath) {
			errs = append(errs, field.NotSupported(fp, f.FieldPath, supported))
		}
	}
	return errs
}

func validateResourceFieldSelector(f *corev1.ResourceFieldSelector, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case f.Resource == "":
		errs = append(errs, field.Required(p.Child("resource"), ""))
	case !contains(envResourceFields(), f.Resource) && !strings.HasPrefix(f.Resource, "requests.hugepages-") &&
		!strings.HasPrefix(f.Resource, "limits.hugepages-"):
		errs = append(errs, field.NotSupported(p.Child("resource"), f.Resource, envResourceFields()))
	}
	if f.Divisor.Sign() < 0 {
		errs = append(errs, field.Invalid(p.Child("divisor"), f.Divisor.String(), "must be greater than or equal to 0"))
	}
	return errs
}

func validateKeyRef(name, key string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	return append(errs, requiredValid(p.Child("key"), key, validation.IsConfigMapKey)...)
}

func validateEnvFrom(from []corev1.EnvFromSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ef := range from {
		p := fldPath.Index(i)
		if ef.Prefix != "" {
			errs = append(errs, invalidEach(p.Child("prefix"), ef.Prefix, validation.IsRelaxedEnvVarName(ef.Prefix))...)
		}
		n := 0
		if ef.ConfigMapRef != nil {
			n++
			if ef.ConfigMapRef.Name == "" {
				errs = append(errs, field.Required(p.Child("configMapRef", "name"), ""))
			}
		}
		if ef.SecretRef != nil {
			n++
			if ef.SecretRef.Name == "" {
				errs = append(errs, field.Required(p.Child("secretRef", "name"), ""))
			}
		}
		switch { // the API server names the list here, not the item
		case n == 0:
			errs = append(errs, field.Invalid(fldPath, "", "must specify one of: `configMapRef` or `secretRef`"))
		case n > 1:
			errs = append(errs, field.Invalid(fldPath, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

// validateResources: only container resources (cpu, memory,
// ephemeral-storage, hugepages-*, domain-prefixed extended resources),
// non-negative, requests ≤ limits.
func validateResources(r *corev1.ResourceRequirements, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	hugepages := false
	check := func(list corev1.ResourceList, p *field.Path) {
		for name, q := range list {
			rp := p.Key(string(name))
			errs = append(errs, validateResourceName(name, rp)...)
			if q.Sign() < 0 {
				errs = append(errs, field.Invalid(rp, q.String(), "must be greater than or equal to 0"))
			}
			if isExtendedResource(name) && q.MilliValue()%1000 != 0 {
				errs = append(errs, field.Invalid(rp, q.String(), "must be an integer"))
			}
			if strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) {
				hugepages = true
			}
		}
	}
	check(r.Limits, fldPath.Child("limits"))
	check(r.Requests, fldPath.Child("requests"))
	// The API server names requests, not the resource, when a request
	// and its limit disagree: the same paths here.
	for name, req := range r.Requests {
		limit, ok := r.Limits[name]
		switch {
		case !ok && !isOvercommitAllowed(name):
			errs = append(errs, field.Required(fldPath.Child("limits"), "Limit must be set for non overcommitable resources"))
		case !ok:
		case !isOvercommitAllowed(name) && req.Cmp(limit) != 0:
			errs = append(errs, field.Invalid(fldPath.Child("requests"), req.String(),
				fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
		case req.Cmp(limit) > 0:
			errs = append(errs, field.Invalid(fldPath.Child("requests"), req.String(),
				fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		}
	}
	if hugepages && !hasCPUOrMemory(r.Limits) && !hasCPUOrMemory(r.Requests) {
		errs = append(errs, field.Forbidden(fldPath, "HugePages require cpu or memory"))
	}
	if len(r.Claims) > 0 {
		errs = append(errs, notRunError(fldPath.Child("claims"), notRunClaims))
	}
	return errs
}

func validateResourceName(name corev1.ResourceName, p *field.Path) field.ErrorList {
	switch {
	case name == corev1.ResourceCPU, name == corev1.ResourceMemory, name == corev1.ResourceEphemeralStorage:
		return nil
	case strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
		size := strings.TrimPrefix(string(name), corev1.ResourceHugePagesPrefix)
		if _, err := resource.ParseQuantity(size); err != nil {
			return field.ErrorList{field.Invalid(p, name, "must be a standard resource for containers")}
		}
		return nil
	case strings.Contains(string(name), "/") && !strings.Contains(string(name), "kubernetes.io/"):
		var errs field.ErrorList
		errs = append(errs, invalidEach(p, name, validation.IsQualifiedName(string(name)))...)
		return errs
	}
	return field.ErrorList{field.Invalid(p, name, "must be a standard resource for containers")}
}

// isExtendedResource is a domain-prefixed resource outside
// kubernetes.io: counted in whole units.
func isExtendedResource(name corev1.ResourceName) bool {
	domain, _, ok := strings.Cut(string(name), "/")
	return ok && domain != "kubernetes.io" && !strings.HasSuffix(domain, ".kubernetes.io") &&
		!strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix)
}

func isOvercommitAllowed(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory || name == corev1.ResourceEphemeralStorage
}

func hasCPUOrMemory(l corev1.ResourceList) bool {
	_, cpu := l[corev1.ResourceCPU]
	_, mem := l[corev1.ResourceMemory]
	return cpu || mem
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
