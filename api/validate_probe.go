package api

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const moreThanOneHandler = "may not specify more than 1 handler type"

// validateProbesAndLifecycle validates probes and hooks of a regular
// container or a sidecar (R4, R6).
func validateProbesAndLifecycle(c *corev1.Container, grace int64, p *field.Path) field.ErrorList {
	errs := validateSingleSuccessProbe(c.LivenessProbe, p.Child("livenessProbe"))
	if pr := c.ReadinessProbe; pr != nil {
		rp := p.Child("readinessProbe")
		errs = append(errs, validateProbe(pr, rp)...)
		if pr.TerminationGracePeriodSeconds != nil {
			errs = append(errs, field.Invalid(rp.Child("terminationGracePeriodSeconds"), *pr.TerminationGracePeriodSeconds,
				"must not be set for readinessProbes"))
		}
	}
	errs = append(errs, validateSingleSuccessProbe(c.StartupProbe, p.Child("startupProbe"))...)
	if lc := c.Lifecycle; lc != nil {
		lp := p.Child("lifecycle")
		if lc.PostStart != nil {
			errs = append(errs, validateLifecycleHandler(lc.PostStart, grace, lp.Child("postStart"))...)
		}
		if lc.PreStop != nil {
			errs = append(errs, validateLifecycleHandler(lc.PreStop, grace, lp.Child("preStop"))...)
		}
	}
	return errs
}

// validateSingleSuccessProbe checks a liveness or startup probe (nil: not
// set), whose successThreshold must be 1.
func validateSingleSuccessProbe(pr *corev1.Probe, p *field.Path) field.ErrorList {
	if pr == nil {
		return nil
	}
	errs := validateProbe(pr, p)
	if pr.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(p.Child("successThreshold"), pr.SuccessThreshold, "must be 1"))
	}
	return errs
}

// validateProbe checks one handler and the R6 minimums. Defaulting has
// turned zeros into the R6 defaults, so a value below 1 was set explicitly.
func validateProbe(pr *corev1.Probe, p *field.Path) field.ErrorList {
	errs := validateProbeHandler(&pr.ProbeHandler, p)
	errs = append(errs, validateNonnegative(int64(pr.InitialDelaySeconds), p.Child("initialDelaySeconds"))...)
	errs = append(errs, atLeastOne(pr.TimeoutSeconds, p.Child("timeoutSeconds"))...)
	errs = append(errs, atLeastOne(pr.PeriodSeconds, p.Child("periodSeconds"))...)
	errs = append(errs, atLeastOne(pr.SuccessThreshold, p.Child("successThreshold"))...)
	errs = append(errs, atLeastOne(pr.FailureThreshold, p.Child("failureThreshold"))...)
	if g := pr.TerminationGracePeriodSeconds; g != nil && *g <= 0 {
		errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *g, "must be greater than 0"))
	}
	return errs
}

func atLeastOne(v int32, p *field.Path) field.ErrorList {
	if v < 0 {
		return validateNonnegative(int64(v), p) // the API server's words for a negative value
	}
	if v < 1 {
		return field.ErrorList{field.Invalid(p, v, "must be greater than or equal to 1")}
	}
	return nil
}

// handlerCheck validates the handlers of one probe or hook: exactly one
// kind may be set. Probes and lifecycle hooks share exec, httpGet and
// tcpSocket; each adds its own kinds through one.
type handlerCheck struct {
	p    *field.Path
	n    int
	errs field.ErrorList
}

// one counts a set handler kind and tells whether it is the first.
func (c *handlerCheck) one(name string) bool {
	c.n++
	if c.n > 1 {
		c.errs = append(c.errs, field.Forbidden(c.p.Child(name), moreThanOneHandler))
		return false
	}
	return true
}

func (c *handlerCheck) shared(exec *corev1.ExecAction, httpGet *corev1.HTTPGetAction, tcp *corev1.TCPSocketAction) {
	if exec != nil && c.one("exec") {
		c.errs = append(c.errs, validateExec(exec, c.p.Child("exec"))...)
	}
	if httpGet != nil && c.one("httpGet") {
		c.errs = append(c.errs, validateHTTPGet(httpGet, c.p.Child("httpGet"))...)
	}
	if tcp != nil && c.one("tcpSocket") {
		c.errs = append(c.errs, validatePortNumOrName(tcp.Port, c.p.Child("tcpSocket", "port"))...)
	}
}

func (c *handlerCheck) result() field.ErrorList {
	if c.n == 0 {
		c.errs = append(c.errs, field.Required(c.p, "must specify a handler type"))
	}
	return c.errs
}

func validateProbeHandler(h *corev1.ProbeHandler, p *field.Path) field.ErrorList {
	c := &handlerCheck{p: p}
	c.shared(h.Exec, h.HTTPGet, h.TCPSocket)
	if h.GRPC != nil && c.one("grpc") {
		c.errs = append(c.errs, invalidEach(p.Child("grpc", "port"), h.GRPC.Port, validation.IsValidPortNum(int(h.GRPC.Port)))...)
	}
	return c.result()
}

func validateLifecycleHandler(h *corev1.LifecycleHandler, grace int64, p *field.Path) field.ErrorList {
	c := &handlerCheck{p: p}
	c.shared(h.Exec, h.HTTPGet, h.TCPSocket)
	if h.Sleep != nil && c.one("sleep") {
		if s := h.Sleep.Seconds; s < 0 || s > grace {
			c.errs = append(c.errs, field.Invalid(p.Child("sleep"), s,
				fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", grace)))
		}
	}
	return c.result()
}

func validateExec(e *corev1.ExecAction, p *field.Path) field.ErrorList {
	if len(e.Command) == 0 {
		return field.ErrorList{field.Required(p.Child("command"), "")}
	}
	return nil
}

func validateHTTPGet(h *corev1.HTTPGetAction, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	errs = append(errs, validatePortNumOrName(h.Port, p.Child("port"))...)
	switch h.Scheme {
	case corev1.URISchemeHTTP, corev1.URISchemeHTTPS:
	default:
		errs = append(errs, field.NotSupported(p.Child("scheme"), h.Scheme,
			[]corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}))
	}
	for _, hd := range h.HTTPHeaders {
		// The API server names the list, not the header.
		errs = append(errs, invalidEach(p.Child("httpHeaders"), hd.Name, validation.IsHTTPHeaderName(hd.Name))...)
	}
	return errs
}

func validatePortNumOrName(port intstr.IntOrString, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch port.Type {
	case intstr.Int:
		errs = append(errs, invalidEach(p, port.IntValue(), validation.IsValidPortNum(port.IntValue()))...)
	case intstr.String:
		if port.StrVal == "" {
			return field.ErrorList{field.Required(p, "")}
		}
		errs = append(errs, invalidEach(p, port.StrVal, validation.IsValidPortName(port.StrVal))...)
	default:
		errs = append(errs, field.InternalError(p, fmt.Errorf("unknown type: %v", port.Type)))
	}
	return errs
}
