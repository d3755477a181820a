package api

import (
	"fmt"
	"os"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateScheduling checks the pod spec fields that speak to a scheduler
// or a cluster (node name, priority, runtime class, tolerations, spread,
// affinity, OS, readiness gates) as the API server does. One node has no
// scheduler to satisfy them, yet the same YAML must be accepted or
// refused as a cluster would (docs/contract.md: podrun answers as the API
// server of its k8s.io/api release).
func validateScheduling(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	subdomain := func(v, name string) {
		if v != "" {
			errs = append(errs, invalidEach(fldPath.Child(name), v, apivalidation.NameIsDNSSubdomain(v, false))...)
		}
	}
	subdomain(spec.NodeName, "nodeName")
	if n := spec.NodeName; n != "" && n != ThisNode() {
		errs = append(errs, notRunError(fldPath.Child("nodeName"), fmt.Sprintf("podrun runs pods on this node (%s) only", ThisNode())))
	}
	if len(spec.SchedulingGates) > 0 {
		errs = append(errs, notRunError(fldPath.Child("schedulingGates"), notRunGates))
	}
	if len(spec.ResourceClaims) > 0 {
		errs = append(errs, notRunError(fldPath.Child("resourceClaims"), notRunClaims))
	}
	subdomain(spec.PriorityClassName, "priorityClassName")
	if spec.RuntimeClassName != nil {
		subdomain(*spec.RuntimeClassName, "runtimeClassName")
	}
	if p := spec.PreemptionPolicy; p != nil {
		errs = append(errs, validateEnum(*p, fldPath.Child("preemptionPolicy"), corev1.PreemptLowerPriority, corev1.PreemptNever)...)
	}
	if spec.OS != nil {
		switch spec.OS.Name {
		case "":
			errs = append(errs, field.Required(fldPath.Child("os", "name"), ""))
		case corev1.Linux, corev1.Windows:
		default:
			errs = append(errs, field.NotSupported(fldPath.Child("os"), spec.OS.Name, []corev1.OSName{corev1.Linux, corev1.Windows}))
		}
	}
	for i, g := range spec.ReadinessGates {
		p := fldPath.Child("readinessGates").Index(i).Child("conditionType")
		errs = append(errs, invalidEach(p, g.ConditionType, validation.IsQualifiedName(string(g.ConditionType)))...)
	}
	if len(spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if o := spec.HostnameOverride; o != nil {
		p := fldPath.Child("hostnameOverride")
		if len(*o) > 64 {
			errs = append(errs, field.TooLong(p, "", 64))
		}
		errs = append(errs, validateDNSSubdomain(*o, p)...)
	}
	errs = append(errs, validateTolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	errs = append(errs, validateSpread(spec.TopologySpreadConstraints, fldPath.Child("topologySpreadConstraints"))...)
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil {
		if r := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution; r != nil && len(r.NodeSelectorTerms) == 0 {
			errs = append(errs, field.Required(fldPath.Child("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"),
				"must have at least one node selector term"))
		}
	}
	return errs
}

// validateEnum refuses a value outside allowed: Required when empty,
// else NotSupported listing them.
func validateEnum[T ~string](v T, p *field.Path, allowed ...T) field.ErrorList {
	switch {
	case v == "":
		return field.ErrorList{field.Required(p, "")}
	case !sets.New(allowed...).Has(v):
		return field.ErrorList{field.NotSupported(p, v, allowed)}
	}
	return nil
}

func validateTolerations(ts []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range ts {
		p := fldPath.Index(i)
		if t.Key != "" {
			errs = append(errs, metavalidation.ValidateLabelName(t.Key, p.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(p.Child("operator"), t.Operator,
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(p.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) > 0 {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.Operator,
				[]corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}))
		}
		if t.Effect != "" {
			errs = append(errs, validateEnum(t.Effect, p.Child("effect"),
				corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute)...)
		}
	}
	return errs
}

func validateSpread(cs []corev1.TopologySpreadConstraint, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range cs {
		p := fldPath.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(p.Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
		}
		if c.WhenUnsatisfiable != corev1.DoNotSchedule && c.WhenUnsatisfiable != corev1.ScheduleAnyway {
			errs = append(errs, field.NotSupported(p.Child("whenUnsatisfiable"), c.WhenUnsatisfiable,
				[]corev1.UnsatisfiableConstraintAction{corev1.DoNotSchedule, corev1.ScheduleAnyway}))
		}
	}
	return errs
}

// ThisNode is the name of the node podrun runs on: the host's name in
// lower case, as the kubelet names its node. A pod's spec.nodeName, when
// set, must be it.
var ThisNode = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return strings.ToLower(h)
})
