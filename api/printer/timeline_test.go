package printer

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func tp(t time.Time) *time.Time { return &t }

func i32(v int32) *int32 { return &v }

// A sidecar pod: proxy starts first, the init container crashes once and
// waits out a back-off, app runs; on deletion app is killed before proxy.
func sampleTimeline() *api.PodTimeline {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.Local)
	at := func(s int) *time.Time { return tp(t0.Add(time.Duration(s) * time.Second)) }
	return &api.PodTimeline{Pod: "web", Namespace: "default", Now: t0.Add(100 * time.Second), Instances: []api.TimelineInstance{
		{Container: "proxy", Class: "Sidecar", Attempt: 0, State: "Exited", CreatedAt: at(0), StartedAt: at(1), ReadyAt: at(10),
			KilledAt: at(90), FinishedAt: at(99), ExitCode: i32(0)},
		{Container: "migrate", Class: "Init", Attempt: 0, State: "Exited", CreatedAt: at(10), StartedAt: at(10), FinishedAt: at(20),
			ExitCode: i32(1), Reason: "Error", BackoffUntil: at(30)},
		{Container: "migrate", Class: "Init", Attempt: 1, State: "Exited", CreatedAt: at(30), StartedAt: at(30), FinishedAt: at(40),
			ExitCode: i32(0), Reason: "Completed"},
		{Container: "app", Class: "Regular", Attempt: 0, State: "Exited", CreatedAt: at(40), StartedAt: at(41), ReadyAt: at(50),
			KilledAt: at(80), FinishedAt: at(81), ExitCode: i32(137), Reason: "Error"},
	}}
}

func TestDrawTimelineLayout(t *testing.T) {
	var buf bytes.Buffer
	if err := DrawTimeline(&buf, sampleTimeline(), 80); err != nil {
		t.Fatal(err)
	}
	want := `Pod web: 4 instances over 1m39s (10:00:00 to 10:01:39)
proxy (sidecar) #0 |S===R===============================K===X| exit 0 (killed)
migrate (init) #0  |    S===X~~~~                            | exit 1
migrate (init) #1  |            S===X                        | exit 0
app #0             |                S===R===========X        | exit 137 (killed)
                    10:00:00                         10:01:39
- created  S started  R ready  = running  K kill sent  X exited  ~ back-off
> still running
`
	if got := buf.String(); got != want {
		t.Fatalf("timeline:\n%s\nwant:\n%s", got, want)
	}
	for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		if len(line) > 80 {
			t.Fatalf("line wider than the terminal: %q", line)
		}
	}
}

func TestDrawTimelineRunningAndEmpty(t *testing.T) {
	tl := sampleTimeline()
	tl.Instances = tl.Instances[3:]
	tl.Instances[0].State, tl.Instances[0].FinishedAt, tl.Instances[0].ExitCode, tl.Instances[0].KilledAt = "Running", nil, nil, nil
	var buf bytes.Buffer
	_ = DrawTimeline(&buf, tl, 60)
	lines := strings.Split(buf.String(), "\n")
	if !strings.HasSuffix(lines[1], ">| running") || !strings.Contains(lines[0], "(10:00:40 to 10:01:40)") || len(lines[0]) > 60 {
		t.Fatalf("running instance must reach now:\n%s", buf.String())
	}
	buf.Reset()
	_ = DrawTimeline(&buf, &api.PodTimeline{Pod: "p"}, 60)
	if buf.String() != "pod p has no container instances yet\n" {
		t.Fatalf("empty: %q", buf.String())
	}
}

func TestFormatTop(t *testing.T) {
	if FormatMemory(5<<20+3) != "5Mi" || FormatMemory(2<<30) != "2Gi" || FormatMemory(2048) != "2Ki" || FormatMemory(12) != "12" {
		t.Fatal("memory formats")
	}
	if FormatCPU(250) != "250m" {
		t.Fatal("cpu format")
	}
}

func TestDescribeJobWaitingFor(t *testing.T) {
	var buf bytes.Buffer
	d := JobDescription{Job: sampleJob(), WaitingFor: []string{"pod pi-abc: init container migrate: CrashLoopBackOff, next start in 18s"}}
	if err := DescribeJob(&buf, d, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Waiting for:\n  pod pi-abc: init container migrate: CrashLoopBackOff, next start in 18s\n") {
		t.Fatalf("no Waiting for section:\n%s", buf.String())
	}
}

func sampleJob() *batchv1.Job {
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "main", Image: "busybox:1.28"}}}}}}
}
