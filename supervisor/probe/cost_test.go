package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// No goroutine is left behind once instances are removed, including
// workers gated by a startup probe and attempts in flight.
func TestRemoveInstanceLeavesNoGoroutine(t *testing.T) {
	srv, _ := newHTTPServer(t, false)
	port := serverPort(t, srv.URL)
	f := newFakeProber(func(ctx context.Context, _ string, cmd []string, _ io.Writer) (int, error) {
		if cmd[0] == "block" {
			<-ctx.Done() // an attempt in flight when the instance goes
			return -1, ctx.Err()
		}
		return 1, nil
	})
	m, clk := newTestManager(f)
	baseline := runtime.NumGoroutine()

	for i := 0; i < 30; i++ {
		pod := testPod("p" + strconv.Itoa(i%5))
		c := &corev1.Container{Name: "c" + strconv.Itoa(i)}
		if i%2 == 0 {
			c.StartupProbe = execProbeSpec("never", 1, 1000, 1) // keeps the others gated
		} else {
			c.LivenessProbe = execProbeSpec("block", 1, 3, 1)
			c.LivenessProbe.TimeoutSeconds = 60
		}
		c.ReadinessProbe = httpSpec("", intstr.FromInt32(int32(port)), "/ok")
		m.AddInstance(pod, c, "i"+strconv.Itoa(i), clk.Now())
	}
	callsOf(t, f, "never", "block")
	clk.Step(time.Second)
	for i := 0; i < 30; i++ {
		m.RemoveInstance("i" + strconv.Itoa(i))
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, waitLimit, true, func(context.Context) (bool, error) { return runtime.NumGoroutine() <= baseline+2, nil }); err != nil {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines, baseline %d:\n%s", runtime.NumGoroutine(), baseline,
			buf[:runtime.Stack(buf, true)])
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.instances) != 0 || len(m.pods) != 0 {
		t.Fatalf("state left: %d instances, %d pods", len(m.instances), len(m.pods))
	}
}

// benchProber answers exec at once (the runtime's own cost is not
// podrund's) and dials loopback for real.
type benchProber struct{ execs, dials atomic.Int64 }

func (b *benchProber) Exec(context.Context, string, ExecRequest) (int, error) {
	b.execs.Add(1)
	return 0, nil
}

func (b *benchProber) Dial(ctx context.Context, _ *corev1.Pod, network, address string) (net.Conn, error) {
	b.dials.Add(1)
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// BenchmarkProbes100Pods runs 100 instances, each with a 1 s exec liveness
// probe and a 1 s httpGet readiness probe, on the real clock; every
// iteration is one second of wall time. cpu-ms/s is the process's CPU time
// (user+system, including the in-process HTTP server) per wall second.
// Run: go test -run - -bench Probes100Pods -benchtime 5x ./supervisor/probe/
func BenchmarkProbes100Pods(b *testing.B) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	port := int32(srv.Listener.Addr().(*net.TCPAddr).Port)
	p := &benchProber{}
	benchProbes(b, p, func() int64 { return p.execs.Load() + hits.Load() }, func() *corev1.Container {
		c := &corev1.Container{Name: "app",
			LivenessProbe:  execProbeSpec("true", 1, 3, 1),
			ReadinessProbe: httpSpec("", intstr.FromInt32(port), "/healthz")}
		c.ReadinessProbe.PeriodSeconds = 1
		return c
	})
}

// BenchmarkProbes100PodsTCPGRPC is the same with a tcpSocket liveness probe
// and a grpc readiness probe against an in-process gRPC health server.
func BenchmarkProbes100PodsTCPGRPC(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	port := int32(l.Addr().(*net.TCPAddr).Port)
	p := &benchProber{}
	// Each tcpSocket and each grpc attempt dials once.
	benchProbes(b, p, p.dials.Load, func() *corev1.Container {
		return &corev1.Container{Name: "app",
			LivenessProbe: &corev1.Probe{PeriodSeconds: 1, TimeoutSeconds: 1, ProbeHandler: corev1.ProbeHandler{
				TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}}},
			ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, TimeoutSeconds: 1, ProbeHandler: corev1.ProbeHandler{
				GRPC: &corev1.GRPCAction{Port: port}}}}
	})
}

// benchProbes runs 100 instances of the container for b.N seconds and
// reports CPU time per second, probes per second (as count counts them) and
// the worker goroutines.
func benchProbes(b *testing.B, p *benchProber, count func() int64, container func() *corev1.Container) {
	m := NewManager(p, clock.RealClock{}, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range m.Updates() {
			if u.Result == results.Failure {
				b.Errorf("probe failed: %+v", u)
			}
		}
	}()
	for i := 0; i < 100; i++ {
		pod := testPod("bench" + strconv.Itoa(i))
		pod.UID = types.UID(fmt.Sprintf("uid-%d", i))
		m.AddInstance(pod, container(), "i"+strconv.Itoa(i), time.Now())
	}
	// Start measuring mid-period: the workers tick together, so a window
	// aligned on ticks would count one burst too many.
	time.Sleep(1500 * time.Millisecond)
	goroutines := runtime.NumGoroutine()
	ru0, t0 := rusage(b), time.Now()
	n0 := count()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		time.Sleep(time.Second)
	}
	b.StopTimer()
	ru1, wall := rusage(b), time.Since(t0)
	probes := count() - n0
	cpu := time.Duration(ru1-ru0) * time.Microsecond
	b.ReportMetric(float64(cpu.Microseconds())/1000/wall.Seconds(), "cpu-ms/s")
	b.ReportMetric(float64(probes)/wall.Seconds(), "probes/s")
	b.ReportMetric(float64(goroutines), "goroutines")
	for i := 0; i < 100; i++ {
		m.RemoveInstance("i" + strconv.Itoa(i))
	}
	close(m.updates) // only here: no worker is left to send
	<-done
}

// rusage returns the process's user+system CPU time in microseconds.
func rusage(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano()/1000 + ru.Stime.Nano()/1000
}

// One HTTP transport per pod, shared by its instances, dropped with the
// pod's last instance.
func TestTransportSharedPerPod(t *testing.T) {
	m, clk := newTestManager(newFakeProber(newExecScript().exec))
	pod := testPod("p")
	m.AddInstance(pod, &corev1.Container{Name: "a"}, "i1", clk.Now())
	m.AddInstance(pod, &corev1.Container{Name: "b"}, "i2", clk.Now())
	m.mu.Lock()
	shared := m.instances["i1"].t.transport == m.instances["i2"].t.transport
	m.mu.Unlock()
	if !shared {
		t.Fatal("instances of one pod use different transports")
	}
	m.RemoveInstance("i1")
	m.mu.Lock()
	left := m.pods[pod.UID]
	m.mu.Unlock()
	if left == nil || left.instances != 1 {
		t.Fatalf("pod state after removing one of two instances: %+v", left)
	}
	m.RemoveInstance("i2")
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pods) != 0 {
		t.Fatal("pod state left after its last instance")
	}
}

// Handler output is bounded (10 KiB, as the kubelet keeps).
func TestOutputBounded(t *testing.T) {
	big := strings.Repeat("x", 3*maxOutput)
	f := newFakeProber(func(_ context.Context, _ string, _ []string, out io.Writer) (int, error) {
		_, _ = io.WriteString(out, big)
		_, _ = io.WriteString(out, big)
		return 1, nil
	})
	tg := newTarget(f, &corev1.Container{Name: "app"})
	o := runProbe(context.Background(), tg, execProbeSpec("big", 1, 1, 1))
	if o.result != results.Failure || len(o.output) != maxOutput {
		t.Fatalf("result %s, output of %d bytes", o.result, len(o.output))
	}
}
