package api

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of restartPolicyRules, as the API server enforces them (R100).
const (
	maxRestartRules          = 20
	maxRestartRuleExitValues = 255
)

// Supported values, in the sorted order the API server lists them (R100).
// The action RestartAllContainers sits behind the alpha gate
// RestartAllContainersOnContainerExits, off by default: refused as the API
// server refuses it with the gate off.
var (
	containerRestartPolicies = []corev1.ContainerRestartPolicy{
		corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyNever, corev1.ContainerRestartPolicyOnFailure}
	restartRuleActions = []corev1.ContainerRestartRuleAction{
		corev1.ContainerRestartRuleActionRestart, corev1.ContainerRestartRuleActionRestartAllContainers}
	restartRuleOperators = []corev1.ContainerRestartRuleOnExitCodesOperator{
		corev1.ContainerRestartRuleOnExitCodesOpIn, corev1.ContainerRestartRuleOnExitCodesOpNotIn}
)

// validateInitContainerRestartPolicy checks an init container's
// restartPolicy and restartPolicyRules (R100) as a regular container's:
// with the RestartAllContainersOnContainerExits gate on (beta, on in
// v1.37) the API server takes rules on a sidecar too.
func validateInitContainerRestartPolicy(c *corev1.Container, p *field.Path) field.ErrorList {
	return validateContainerRestartPolicy(c, p)
}

// validateContainerRestartPolicy checks a container's own restartPolicy and
// its restartPolicyRules (R100).
func validateContainerRestartPolicy(c *corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case c.RestartPolicy == nil:
		if len(c.RestartPolicyRules) == 0 {
			return nil
		}
		errs = append(errs, field.Required(p.Child("restartPolicy"), "must specify restartPolicy when restart rules are used"))
	case !slices.Contains(containerRestartPolicies, *c.RestartPolicy):
		errs = append(errs, field.NotSupported(p.Child("restartPolicy"), *c.RestartPolicy, containerRestartPolicies))
	}
	rp := p.Child("restartPolicyRules")
	if len(c.RestartPolicyRules) > maxRestartRules {
		errs = append(errs, field.TooMany(rp, len(c.RestartPolicyRules), maxRestartRules))
	}
	for i, r := range c.RestartPolicyRules {
		ip := rp.Index(i)
		switch {
		case !slices.Contains(restartRuleActions, r.Action):
			errs = append(errs, field.NotSupported(ip.Child("action"), r.Action, restartRuleActions))
		case r.Action == corev1.ContainerRestartRuleActionRestartAllContainers:
			errs = append(errs, notRunError(ip.Child("action"), notRunRestartAll))
		}
		if r.ExitCodes == nil {
			errs = append(errs, field.Required(ip.Child("exitCodes"), "must be specified"))
			continue
		}
		ep := ip.Child("exitCodes")
		if !slices.Contains(restartRuleOperators, r.ExitCodes.Operator) {
			errs = append(errs, field.NotSupported(ep.Child("operator"), r.ExitCodes.Operator, restartRuleOperators))
		}
		if len(r.ExitCodes.Values) > maxRestartRuleExitValues {
			errs = append(errs, field.TooMany(ep.Child("values"), len(r.ExitCodes.Values), maxRestartRuleExitValues))
		}
	}
	return errs
}
