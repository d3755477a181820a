package supervisor

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// TestPlanInitMatchesPreRewriteOracle proves the rewrite of planInit (a
// walk of small helpers) decides exactly what the function it replaced
// decided: planInitOracle below is that function, kept verbatim as the
// oracle, and both run on 200,000 generated inputs covering every branch.
func TestPlanInitMatchesPreRewriteOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]int{}
	for n := range 200_000 {
		in := randomPlanInput(r)
		var got, want Plan
		gotInit, gotStop := planInit(in, &got)
		wantInit, wantStop := planInitOracle(in, &want)
		if gotInit != wantInit || gotStop != wantStop || !reflect.DeepEqual(got, want) {
			t.Fatalf("input %d: planInit = %v, %v, %+v; the oracle = %v, %v, %+v\npod %+v\nstate %+v",
				n, gotInit, gotStop, got, wantInit, wantStop, want, in.Pod.Spec, in.State)
		}
		seen[fmt.Sprintf("initialized=%v", gotInit)]++
		seen[fmt.Sprintf("stop=%v", gotStop)]++
		seen[fmt.Sprintf("starts=%v", len(got.StartInit) > 0)]++
		seen[fmt.Sprintf("kills=%v", len(got.Kill) > 0)]++
		seen[fmt.Sprintf("waiting=%v", len(got.Waiting) > 0)]++
	}
	for _, k := range []string{"initialized=true", "initialized=false", "stop=true", "stop=false",
		"starts=true", "starts=false", "kills=true", "kills=false", "waiting=true", "waiting=false"} {
		if seen[k] < 100 {
			t.Errorf("outcome %s seen %d times: the generator misses a branch (%v)", k, seen[k], seen)
		}
	}
}

// planInitOracle is planInit as it was before its rewrite, kept as the
// oracle of TestPlanInitMatchesPreRewriteOracle. planInit was
// computeInitContainerActions (R19): it walks init containers
// from last to first and returns whether the pod is initialized; stop is
// true when the plan ended in a pod termination (R75).
func planInitOracle(in *planInput, p *Plan) (initialized, stop bool) {
	st := in.State
	pod := in.Pod
	sb := st.SandboxAttempt
	if len(pod.Spec.InitContainers) == 0 {
		return true, false
	}
	for i := range pod.Spec.Containers {
		cur, _ := newest(st, pod.Spec.Containers[i].Name, sb)
		if cur != nil && (cur.State == InstanceCreated || cur.State == InstanceRunning) {
			initialized = true
			break
		}
	}
	inits := pod.Spec.InitContainers
	seenLater := initialized
	var starts []int
	for i := len(inits) - 1; i >= 0; i-- {
		c := &inits[i]
		sidecar := isSidecar(c)
		cur, _ := newest(st, c.Name, sb)
		if cur == nil {
			if seenLater && sidecar {
				starts = append(starts, i) // R25: missing sidecars start again
			}
			continue
		}
		if seenLater && !sidecar {
			continue // R25: completed plain init containers never re-run
		}
		switch cur.State {
		case InstanceCreated:
			starts = append(starts, i)
		case InstanceRunning:
			if !sidecar {
				break // wait for the plain init container to exit
			}
			if !sidecarStarted(in, c, cur, p) {
				break
			}
			if i == len(inits)-1 {
				initialized = true
			} else if !seenLater {
				starts = append(starts, i+1)
			}
			planRunningSidecar(in, p, c, cur)
		default: // Exited or Unknown
			if cur.State == InstanceUnknown {
				p.Kill = append(p.Kill, KillAction{InstanceID: cur.ID, Container: c.Name, Restart: true,
					Message: fmt.Sprintf("Init container %s is in an unknown state", c.Name)})
			}
			switch {
			case sidecar:
				starts = append(starts, i)
			case initFailed(cur):
				if !failedInitShouldRestart(pod, c, cur) {
					p.Terminate = TermInitFailed // R75, R102
					p.StartInit = nil
					return false, true
				}
				starts = append(starts, i)
			case i == len(inits)-1:
				initialized = true
			default:
				starts = append(starts, i+1)
			}
		}
		seenLater = true
	}
	if !seenLater && len(inits) > 0 {
		starts = append(starts, 0)
	}
	slices.Sort(starts)
	for _, i := range slices.Compact(starts) {
		c := &inits[i]
		cur, _ := newest(st, c.Name, sb)
		if cur != nil && cur.State == InstanceRunning {
			continue // being killed; restarts once it exited
		}
		if backoffGate(in, p, c, cur) {
			p.StartInit = append(p.StartInit, i)
		}
	}
	return initialized, false
}
