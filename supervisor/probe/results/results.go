// Package results holds what a probe worker tells the pod engine: which
// probe (Kind), its result, and the Update that carries it. Both the engine
// (supervisor) and the probe workers (supervisor/probe) use these types, so
// neither imports the other for them; it imports neither.
package results

import "k8s.io/apimachinery/pkg/types"

// Kind names one of a container's probes, spelt as in the kubelet's
// Unhealthy events.
type Kind string

const (
	Liveness  Kind = "Liveness"
	Readiness Kind = "Readiness"
	Startup   Kind = "Startup"
)

// Result is the latest result of one probe of one container instance;
// Unknown means "no result yet" (R19 waits on it).
type Result int

const (
	Unknown Result = iota
	Success
	Failure
)

func (r Result) String() string {
	switch r {
	case Success:
		return "Success"
	case Failure:
		return "Failure"
	default:
		return "Unknown"
	}
}

// Initial is the result a new instance's probe of kind k starts with
// (R40): liveness Success, readiness Failure, startup Unknown.
func Initial(k Kind) Result {
	switch k {
	case Liveness:
		return Success
	case Readiness:
		return Failure
	default:
		return Unknown
	}
}

// Update reports a probe result of one container instance. Result is always
// the worker's result after the attempt that caused the update.
//
// Updates are sent when the result changes, when a liveness or startup
// probe's Failure reaches the failure threshold, when the probes stop and
// liveness/startup are forced to Success (R49), and with Warning set when an
// attempt succeeded with a warning (R41: a redirect to another host). A
// Warning update may repeat the current result; its Output is the text of a
// ProbeWarning event ("<Kind> probe warning: <Output>"). Every failed
// attempt is sent too, with Failed set, even below the failure threshold, so
// that the engine records one Unhealthy event per failure as the kubelet does.
type Update struct {
	PodUID     types.UID
	Container  string
	InstanceID string
	Kind       Kind
	Result     Result
	// Output is the handler's output of the attempt: for a Failure the text
	// of the Unhealthy event ("<Kind> probe failed: <Output>").
	Output  string
	Warning bool // the attempt succeeded with a warning (R41): a ProbeWarning event
	Failed  bool // the attempt failed: an Unhealthy event, even below the threshold
}
