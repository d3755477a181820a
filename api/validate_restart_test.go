package api

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func restartOn(op corev1.ContainerRestartRuleOnExitCodesOperator, codes ...int32) corev1.ContainerRestartRule {
	return corev1.ContainerRestartRule{Action: corev1.ContainerRestartRuleActionRestart,
		ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: op, Values: codes}}
}

// TestValidateContainerRestartRules covers R100: what the API server with
// ContainerRestartRules on (and RestartAllContainersOnContainerExits off)
// accepts, and the exact field errors of what it refuses.
func TestValidateContainerRestartRules(t *testing.T) {
	never := ptr.To(corev1.ContainerRestartPolicyNever)
	onFailure := ptr.To(corev1.ContainerRestartPolicyOnFailure)
	always := ptr.To(corev1.ContainerRestartPolicyAlways)
	in42 := restartOn(corev1.ContainerRestartRuleOnExitCodesOpIn, 42)
	tests := []podCase{
		{"regular container Never under pod Always", func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicy = never
		}, nil},
		{"regular container OnFailure with an In rule", func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			p.Spec.Containers[0].RestartPolicy = onFailure
			p.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{in42}
		}, nil},
		{"NotIn rule, no values, negative and repeated values", func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicy = never
			p.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{
				restartOn(corev1.ContainerRestartRuleOnExitCodesOpNotIn),
				restartOn(corev1.ContainerRestartRuleOnExitCodesOpIn, -1, 3, 3),
			}
		}, nil},
		{"plain init container Never and OnFailure with rules", func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			p.Spec.InitContainers[0].RestartPolicy = onFailure
			p.Spec.InitContainers[0].RestartPolicyRules = []corev1.ContainerRestartRule{in42}
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "init2", Image: "busybox:1.28",
				RestartPolicy: never, RestartPolicyRules: []corev1.ContainerRestartRule{in42}})
			DefaultPod(p)
		}, nil},
		{"exactly 20 rules of 255 values", func(p *corev1.Pod) {
			codes := make([]int32, 255)
			for i := range codes {
				codes[i] = int32(i)
			}
			p.Spec.Containers[0].RestartPolicy = never
			for range 20 {
				p.Spec.Containers[0].RestartPolicyRules = append(p.Spec.Containers[0].RestartPolicyRules,
					restartOn(corev1.ContainerRestartRuleOnExitCodesOpIn, codes...))
			}
		}, nil},
		{"regular container policy not supported", func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicy("sometimes"))
		}, []string{`spec.containers[0].restartPolicy: Unsupported value: "sometimes": supported values: "Always", "Never", "OnFailure"`}},
		{"rules without restartPolicy on a regular container", func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{in42}
		}, []string{`spec.containers[0].restartPolicy: Required value: must specify restartPolicy when restart rules are used`}},
		{"rules without restartPolicy on a plain init container", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].RestartPolicyRules = []corev1.ContainerRestartRule{in42}
		}, []string{`spec.initContainers[0].restartPolicy: Required value: must specify restartPolicy when restart rules are used`}},
		{"rules on a sidecar are checked as any container's (the gate is beta, on in v1.37)", func(p *corev1.Pod) {
			p.Spec.InitContainers[1].RestartPolicy = always
			p.Spec.InitContainers[1].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: "Bogus"}}
		}, []string{
			`spec.initContainers[1].restartPolicyRules[0].action: Unsupported value: "Bogus": supported values: "Restart", "RestartAllContainers"`,
			`spec.initContainers[1].restartPolicyRules[0].exitCodes: Required value: must be specified`,
		}},
		{"RestartAllContainers is valid, and not run by podrun", func(p *corev1.Pod) {
			r := in42
			r.Action = corev1.ContainerRestartRuleActionRestartAllContainers
			p.Spec.Containers[0].RestartPolicy = never
			p.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{r}
		}, []string{`spec.containers[0].restartPolicyRules[0].action: Forbidden: not supported by podrun: ` + notRunRestartAll}},
		{"empty action, missing exitCodes, bad operator", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].RestartPolicy = never
			p.Spec.InitContainers[0].RestartPolicyRules = []corev1.ContainerRestartRule{
				{},
				restartOn("Equals", 1),
			}
		}, []string{
			`spec.initContainers[0].restartPolicyRules[0].action: Unsupported value: "": supported values: "Restart", "RestartAllContainers"`,
			`spec.initContainers[0].restartPolicyRules[0].exitCodes: Required value: must be specified`,
			`spec.initContainers[0].restartPolicyRules[1].exitCodes.operator: Unsupported value: "Equals": supported values: "In", "NotIn"`,
		}},
		{"21 rules, 256 values", func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicy = onFailure
			for range 21 {
				p.Spec.Containers[0].RestartPolicyRules = append(p.Spec.Containers[0].RestartPolicyRules, in42)
			}
			p.Spec.Containers[0].RestartPolicyRules[3].ExitCodes = &corev1.ContainerRestartRuleOnExitCodes{
				Operator: corev1.ContainerRestartRuleOnExitCodesOpNotIn, Values: make([]int32, 256)}
		}, []string{
			`spec.containers[0].restartPolicyRules: Too many: 21: must have at most 20 items`,
			`spec.containers[0].restartPolicyRules[3].exitCodes.values: Too many: 256: must have at most 255 items`,
		}},
		{"a plain init container with its own policy still takes no probes (R3)", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].RestartPolicy = onFailure
			p.Spec.InitContainers[0].LivenessProbe = execProbe()
			DefaultPod(p)
		}, []string{`spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always`}},
	}
	runMutateCases(t, basePod, ValidatePod, tests)
}

// TestValidateRestartRulesHugeInput: a rule list far over the limits gives
// one error per limit, not one per item, so a hostile manifest cannot blow
// the Status response up.
func TestValidateRestartRulesHugeInput(t *testing.T) {
	p := basePod()
	c := &p.Spec.Containers[0]
	c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
	c.RestartPolicyRules = make([]corev1.ContainerRestartRule, 10000)
	for i := range c.RestartPolicyRules {
		c.RestartPolicyRules[i] = restartOn(corev1.ContainerRestartRuleOnExitCodesOpIn, 1)
	}
	c.RestartPolicyRules[0].ExitCodes.Values = make([]int32, 1<<20)
	errs := ValidatePod(p)
	if len(errs) != 2 {
		t.Fatalf("got %d errors, want 2: %v", len(errs), errs)
	}
	for _, e := range errs {
		if s := e.Error(); len(s) > 200 || !strings.Contains(s, "Too many") {
			t.Errorf("error %q: want a short Too many", s)
		}
	}
	if got := fmt.Sprint(errs[0].Field); got != "spec.containers[0].restartPolicyRules" {
		t.Errorf("first error on %s", got)
	}
}
