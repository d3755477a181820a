package printer

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func ptrTrue() *bool  { b := true; return &b }
func ptrFalse() *bool { b := false; return &b }

// spec builds a pod spec: init names prefixed "s:" are sidecars.
func spec(inits []string, regulars ...string) corev1.PodSpec {
	var s corev1.PodSpec
	always := corev1.ContainerRestartPolicyAlways
	for _, n := range inits {
		c := corev1.Container{Name: n, Image: "busybox:1.28"}
		if len(n) > 2 && n[:2] == "s:" {
			c.Name = n[2:]
			c.RestartPolicy = &always
		}
		s.InitContainers = append(s.InitContainers, c)
	}
	for _, n := range regulars {
		s.Containers = append(s.Containers, corev1.Container{Name: n, Image: "busybox:1.28"})
	}
	return s
}

func running(name string, ready bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: ready, Started: ptrTrue(),
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Minute)}}}
}

func runningNotStarted(name string) corev1.ContainerStatus {
	st := running(name, false)
	st.Started = ptrFalse()
	return st
}

func waiting(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Started: ptrFalse(),
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(name string, code, signal int32, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Started: ptrFalse(),
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Signal: signal, Reason: reason, FinishedAt: ago(time.Minute)}}}
}

// restarted gives st a restart count and a last termination that ended agoD before now.
func restarted(st corev1.ContainerStatus, n int32, agoD time.Duration) corev1.ContainerStatus {
	st.RestartCount = n
	st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: ago(agoD)}
	return st
}

func cond(t corev1.PodConditionType, ok bool) corev1.PodCondition {
	s := corev1.ConditionFalse
	if ok {
		s = corev1.ConditionTrue
	}
	return corev1.PodCondition{Type: t, Status: s}
}

func TestPodStatusColumnsR92(t *testing.T) {
	deleted := ago(time.Second)
	tests := []struct {
		name                    string
		pod                     corev1.Pod
		ready, status, restarts string
	}{
		{"Init:0/2 first init running", corev1.Pod{
			Spec: spec([]string{"i1", "i2"}, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{running("i1", false), waiting("i2", "PodInitializing")},
				ContainerStatuses:     []corev1.ContainerStatus{waiting("app", "PodInitializing")}},
		}, "0/1", "Init:0/2", "0"},
		{"Init:1/3 sidecar not yet started", corev1.Pod{
			Spec: spec([]string{"i1", "s:proxy", "i2"}, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{terminated("i1", 0, 0, "Completed"), runningNotStarted("proxy"), waiting("i2", "PodInitializing")},
				ContainerStatuses:     []corev1.ContainerStatus{waiting("app", "PodInitializing")}},
		}, "0/2", "Init:1/3", "0"},
		{"Init:2/3 sidecar started, second init running", corev1.Pod{
			Spec: spec([]string{"i1", "s:proxy", "i2"}, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{terminated("i1", 0, 0, "Completed"), running("proxy", true), running("i2", false)},
				ContainerStatuses:     []corev1.ContainerStatus{waiting("app", "PodInitializing")}},
		}, "1/2", "Init:2/3", "0"},
		{"Init:CrashLoopBackOff", corev1.Pod{
			Spec: spec([]string{"migrate"}, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{restarted(waiting("migrate", "CrashLoopBackOff"), 3, 20*time.Second)},
				ContainerStatuses:     []corev1.ContainerStatus{waiting("app", "PodInitializing")}},
		}, "0/1", "Init:CrashLoopBackOff", "3 (20s ago)"},
		{"Init:Error under Never", corev1.Pod{
			Spec: spec([]string{"migrate"}, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodFailed,
				InitContainerStatuses: []corev1.ContainerStatus{terminated("migrate", 1, 0, "Error")},
				ContainerStatuses:     []corev1.ContainerStatus{waiting("app", "PodInitializing")}},
		}, "0/1", "Init:Error", "0"},
		{"Init:ExitCode:N without reason", corev1.Pod{
			Spec: spec([]string{"migrate"}, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodFailed,
				InitContainerStatuses: []corev1.ContainerStatus{terminated("migrate", 3, 0, "")}},
		}, "0/1", "Init:ExitCode:3", "0"},
		{"Init:Signal:N without reason", corev1.Pod{
			Spec: spec([]string{"migrate"}, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodFailed,
				InitContainerStatuses: []corev1.ContainerStatus{terminated("migrate", 137, 9, "")}},
		}, "0/1", "Init:Signal:9", "0"},
		{"PodInitializing: inits done, regular not created", corev1.Pod{
			Spec: spec([]string{"i1", "s:proxy"}, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodPending,
				Conditions:            []corev1.PodCondition{cond(corev1.PodInitialized, true)},
				InitContainerStatuses: []corev1.ContainerStatus{terminated("i1", 0, 0, "Completed"), running("proxy", true)},
				ContainerStatuses:     []corev1.ContainerStatus{waiting("app", "PodInitializing")}},
		}, "1/2", "PodInitializing", "0"},
		{"Running with a ready sidecar", corev1.Pod{
			Spec: spec([]string{"s:proxy"}, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions:            []corev1.PodCondition{cond(corev1.PodInitialized, true), cond(corev1.PodReady, true)},
				InitContainerStatuses: []corev1.ContainerStatus{running("proxy", true)},
				ContainerStatuses:     []corev1.ContainerStatus{running("app", true)}},
		}, "2/2", "Running", "0"},
		{"Running, app not ready yet", corev1.Pod{
			Spec: spec(nil, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				ContainerStatuses: []corev1.ContainerStatus{running("app", false)}},
		}, "0/1", "Running", "0"},
		{"NotReady: one completed, one running, Ready False", corev1.Pod{
			Spec: spec(nil, "a", "b"),
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions:        []corev1.PodCondition{cond(corev1.PodReady, false)},
				ContainerStatuses: []corev1.ContainerStatus{running("a", true), terminated("b", 0, 0, "Completed")}},
		}, "1/2", "NotReady", "0"},
		{"Running: one completed, one running, Ready True", corev1.Pod{
			Spec: spec(nil, "a", "b"),
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions:        []corev1.PodCondition{cond(corev1.PodReady, true)},
				ContainerStatuses: []corev1.ContainerStatus{running("a", true), terminated("b", 0, 0, "Completed")}},
		}, "1/2", "Running", "0"},
		{"Completed Job pod although its sidecar ended 137", corev1.Pod{
			Spec: spec([]string{"s:logshipper"}, "job"),
			Status: corev1.PodStatus{Phase: corev1.PodSucceeded,
				Conditions:            []corev1.PodCondition{cond(corev1.PodInitialized, true), cond(corev1.PodReady, false)},
				InitContainerStatuses: []corev1.ContainerStatus{terminated("logshipper", 137, 0, "Error")},
				ContainerStatuses:     []corev1.ContainerStatus{terminated("job", 0, 0, "Completed")}},
		}, "0/2", "Completed", "0"},
		{"Error", corev1.Pod{
			Spec: spec(nil, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodFailed,
				ContainerStatuses: []corev1.ContainerStatus{terminated("app", 1, 0, "Error")}},
		}, "0/1", "Error", "0"},
		{"first container in list order with a reason wins", corev1.Pod{
			Spec: spec(nil, "a", "b"),
			Status: corev1.PodStatus{Phase: corev1.PodFailed,
				ContainerStatuses: []corev1.ContainerStatus{terminated("a", 137, 0, "OOMKilled"), terminated("b", 1, 0, "Error")}},
		}, "0/2", "OOMKilled", "0"},
		{"ExitCode:N and Signal:N of regulars", corev1.Pod{
			Spec: spec(nil, "a", "b"),
			Status: corev1.PodStatus{Phase: corev1.PodFailed,
				ContainerStatuses: []corev1.ContainerStatus{terminated("a", 2, 0, ""), terminated("b", 143, 15, "")}},
		}, "0/2", "ExitCode:2", "0"},
		{"CrashLoopBackOff with restarts and last restart age", corev1.Pod{
			Spec: spec(nil, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				ContainerStatuses: []corev1.ContainerStatus{restarted(waiting("app", "CrashLoopBackOff"), 4, 3*time.Minute+2*time.Second)}},
		}, "0/1", "CrashLoopBackOff", "4 (3m2s ago)"},
		{"Terminating", corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &deleted},
			Spec:       spec(nil, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions:        []corev1.PodCondition{cond(corev1.PodReady, true)},
				ContainerStatuses: []corev1.ContainerStatus{running("app", true)}},
		}, "1/1", "Terminating", "0"},
		{"deleted but already Succeeded stays Completed", corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &deleted},
			Spec:       spec(nil, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodSucceeded,
				ContainerStatuses: []corev1.ContainerStatus{terminated("app", 0, 0, "Completed")}},
		}, "0/1", "Completed", "0"},
		{"quirk: running pod with crash-looping sidecar shows Init:CrashLoopBackOff", corev1.Pod{
			Spec: spec([]string{"s:proxy"}, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions:            []corev1.PodCondition{cond(corev1.PodInitialized, true), cond(corev1.PodReady, false)},
				InitContainerStatuses: []corev1.ContainerStatus{restarted(waiting("proxy", "CrashLoopBackOff"), 2, 5*time.Second)},
				ContainerStatuses:     []corev1.ContainerStatus{restarted(running("app", true), 1, 2*24*time.Hour+3*time.Hour)}},
		}, "1/2", "Init:CrashLoopBackOff", "3 (5s ago)"},
		{"plain init restarts drop out of RESTARTS once initialized", corev1.Pod{
			Spec: spec([]string{"migrate"}, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions:            []corev1.PodCondition{cond(corev1.PodInitialized, true), cond(corev1.PodReady, true)},
				InitContainerStatuses: []corev1.ContainerStatus{restarted(terminated("migrate", 0, 0, "Completed"), 2, time.Hour)},
				ContainerStatuses:     []corev1.ContainerStatus{running("app", true)}},
		}, "1/1", "Running", "0"},
		{"status.reason wins over phase", corev1.Pod{
			Spec: spec(nil, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded",
				ContainerStatuses: []corev1.ContainerStatus{running("app", false)}},
		}, "0/1", "DeadlineExceeded", "0"},
		{"SchedulingGated", corev1.Pod{
			Spec: spec(nil, "app"),
			Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}},
		}, "0/1", "SchedulingGated", "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ready, status, restarts := podStatusColumns(&tc.pod, now)
			if ready != tc.ready || status != tc.status || restarts != tc.restarts {
				t.Errorf("got READY %q STATUS %q RESTARTS %q, want %q %q %q",
					ready, status, restarts, tc.ready, tc.status, tc.restarts)
			}
		})
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Second:               "5s",
		119 * time.Second:             "119s",
		3*time.Minute + 2*time.Second: "3m2s",
		45 * time.Minute:              "45m",
		5*time.Hour + 7*time.Minute:   "5h7m",
		2*24*time.Hour + 3*time.Hour:  "2d3h",
		400 * 24 * time.Hour:          "400d",
	} {
		if got := Age(now.Add(-d), now); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
	if got := Age(time.Time{}, now); got != "<unknown>" {
		t.Errorf("zero time: %q", got)
	}
}
