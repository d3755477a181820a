package supervisor

import (
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestPodPhaseMatchesPreRewriteOracle proves the rewrite of podPhase
// (counters filled by one helper per container kind, then R78's decision)
// gives exactly the phase the function it replaced gave: podPhaseOracle
// below is that function, kept verbatim as the oracle, and both run on
// 300,000 generated pods, statuses and flags.
func TestPodPhaseMatchesPreRewriteOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	seen := map[corev1.PodPhase]int{}
	for n := range 300_000 {
		pod := randomPod(r)
		s := &corev1.PodStatus{InitContainerStatuses: randomStatuses(r, pod.Spec.InitContainers),
			ContainerStatuses: randomStatuses(r, pod.Spec.Containers)}
		terminal, initialized := r.IntN(2) == 0, r.IntN(2) == 0
		got := podPhase(pod, s, terminal, initialized)
		if want := podPhaseOracle(pod, s, terminal, initialized); got != want {
			t.Fatalf("input %d: podPhase = %s, the oracle = %s (terminal %v, initialized %v)\npod %+v\nstatus %+v",
				n, got, want, terminal, initialized, pod.Spec, s)
		}
		seen[got]++
	}
	for _, ph := range []corev1.PodPhase{corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed} {
		if seen[ph] < 1000 {
			t.Errorf("phase %s seen %d times: the generator misses a branch (%v)", ph, seen[ph], seen)
		}
	}
}

// podPhaseOracle is podPhase as it was before its rewrite, kept as the
// oracle of TestPodPhaseMatchesPreRewriteOracle. podPhase was the kubelet's getPhase over the API statuses (R78), with
// containers' own restart policies and rules (R104): a failed plain init
// container fails the pod only when it will not be restarted, and stopped
// regular containers keep the pod Running while one of them will restart.
func podPhaseOracle(pod *corev1.Pod, s *corev1.PodStatus, podIsTerminal, podHasInitialized bool) corev1.PodPhase {
	var pendingInit, failedInit, pendingSidecar int
	var running, waiting, stopped, restarting, succeeded, unknown int
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := statusByName(s.InitContainerStatuses, c.Name)
		if isSidecar(c) {
			switch {
			case cs == nil:
				unknown++
			case cs.State.Running != nil:
				running++
				if cs.Started == nil || !*cs.Started {
					pendingSidecar++
				}
			case cs.State.Terminated != nil:
			case cs.State.Waiting != nil:
				if cs.LastTerminationState.Terminated == nil {
					pendingSidecar++
					waiting++
				}
			default:
				pendingSidecar++
				unknown++
			}
			continue
		}
		switch {
		case cs == nil, cs.State.Running != nil:
			pendingInit++
		case cs.State.Terminated != nil:
			if code := cs.State.Terminated.ExitCode; code != 0 && !containerShouldRestart(pod, c, code) {
				failedInit++
			}
		case cs.State.Waiting != nil:
			if lt := cs.LastTerminationState.Terminated; lt != nil {
				if lt.ExitCode != 0 && !containerShouldRestart(pod, c, lt.ExitCode) {
					failedInit++
				}
			} else {
				pendingInit++
			}
		default:
			pendingInit++
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := statusByName(s.ContainerStatuses, c.Name)
		switch {
		case cs == nil:
			unknown++
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if containerShouldRestart(pod, c, cs.State.Terminated.ExitCode) {
				restarting++
			}
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.State.Waiting != nil:
			if lt := cs.LastTerminationState.Terminated; lt != nil {
				stopped++
				if containerShouldRestart(pod, c, lt.ExitCode) {
					restarting++
				}
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}
	switch {
	case failedInit > 0:
		return corev1.PodFailed
	case pendingInit > 0 || (pendingSidecar > 0 && !podHasInitialized) || waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if podIsTerminal {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		}
		switch {
		case restarting > 0:
			return corev1.PodRunning // at least one container is restarting
		case stopped == succeeded:
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	}
	return corev1.PodPending
}
