package probe

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// seen records the last request a test server received.
type seen struct {
	host, userAgent, accept, custom string
}

func newHTTPServer(t *testing.T, tls bool) (*httptest.Server, chan seen) {
	t.Helper()
	reqs := make(chan seen, 100)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		reqs <- seen{r.Host, r.UserAgent(), r.Header.Get("Accept"), r.Header.Get("X-Custom")}
		_, _ = fmt.Fprint(w, "fine")
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "secret detail", http.StatusInternalServerError)
	})
	mux.HandleFunc("/same", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/other", func(w http.ResponseWriter, r *http.Request) {
		_, port, _ := net.SplitHostPort(r.Host)
		http.Redirect(w, r, "http://localhost:"+port+"/ok", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(mux)
	} else {
		srv = httptest.NewServer(mux)
	}
	t.Cleanup(srv.Close)
	return srv, reqs
}

func serverPort(t *testing.T, rawURL string) int {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(u.Port())
	return p
}

// closedPort returns a loopback port nobody listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// newAppTarget is a target for container app over a fake prober with no
// exec script.
func newAppTarget() (*fakeProber, *target) {
	f := newFakeProber(newExecScript().exec)
	return f, newTarget(f, &corev1.Container{Name: "app"})
}

func newTarget(f *fakeProber, c *corev1.Container) *target {
	pod := testPod("p")
	return &target{prober: f, pod: pod, container: c, instanceID: "i1", transport: newTransport(f, func() *corev1.Pod { return pod })}
}

func httpSpec(scheme corev1.URIScheme, port intstr.IntOrString, path string, headers ...corev1.HTTPHeader) *corev1.Probe {
	return &corev1.Probe{TimeoutSeconds: 1, ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Scheme: scheme, Port: port, Path: path, HTTPHeaders: headers}}}
}

// R41: httpGet outcomes, with the kubelet's wording.
func TestR41HTTPProbe(t *testing.T) {
	srv, reqs := newHTTPServer(t, false)
	port := serverPort(t, srv.URL)
	c := &corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: int32(port)}}}
	refused := closedPort(t)
	cases := []struct {
		name    string
		port    intstr.IntOrString
		path    string
		result  results.Result
		warning bool
		output  string
	}{
		{"200", intstr.FromInt32(int32(port)), "/ok", results.Success, false, "fine"},
		{"named port", intstr.FromString("web"), "/ok", results.Success, false, "fine"},
		{"port number as string", intstr.FromString(strconv.Itoa(port)), "/ok", results.Success, false, "fine"},
		{"500", intstr.FromInt32(int32(port)), "/fail", results.Failure, false, "HTTP probe failed with statuscode: 500"},
		{"404", intstr.FromInt32(int32(port)), "/missing", results.Failure, false, "HTTP probe failed with statuscode: 404"},
		{"same-host redirect followed", intstr.FromInt32(int32(port)), "/same", results.Success, false, "fine"},
		{"other-host redirect", intstr.FromInt32(int32(port)), "/other", results.Success, true,
			"Probe terminated redirects, Response body: <a href=\"http://localhost:" + strconv.Itoa(port) + "/ok\">Found</a>.\n\n"},
		{"refused", intstr.FromInt32(int32(refused)), "/", results.Failure, false,
			fmt.Sprintf(`Get "http://127.0.0.1:%d/": dial tcp 127.0.0.1:%d: connect: connection refused`, refused, refused)},
		{"unknown port name", intstr.FromString("nope"), "/", results.Failure, false, "port nope not found in container app"},
	}
	f := newFakeProber(newExecScript().exec)
	tg := newTarget(f, c)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := runProbe(context.Background(), tg, httpSpec("", tc.port, tc.path))
			if o.err != nil || o.result != tc.result || o.warning != tc.warning || o.output != tc.output {
				t.Fatalf("outcome = %+v, want %s warning=%v %q", o, tc.result, tc.warning, tc.output)
			}
		})
	}
	for len(reqs) > 0 {
		r := <-reqs
		if r.userAgent != "kube-probe/1.33" || r.accept != "*/*" {
			t.Fatalf("request headers = %+v", r)
		}
	}
}

// R41: headers of the probe are sent, a Host header sets the request host,
// a User-Agent header replaces the default.
func TestR41HTTPHeadersAndHost(t *testing.T) {
	srv, reqs := newHTTPServer(t, false)
	port := serverPort(t, srv.URL)
	f, tg := newAppTarget()
	o := runProbe(context.Background(), tg, httpSpec("HTTP", intstr.FromInt32(int32(port)), "/ok",
		corev1.HTTPHeader{Name: "Host", Value: "example.test"},
		corev1.HTTPHeader{Name: "X-Custom", Value: "v1"},
		corev1.HTTPHeader{Name: "User-Agent", Value: "mine"}))
	if o.result != results.Success {
		t.Fatalf("outcome = %+v", o)
	}
	r := <-reqs
	if r.host != "example.test" || r.custom != "v1" || r.userAgent != "mine" {
		t.Fatalf("request = %+v", r)
	}
	if addr := <-f.dialed; addr != "127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("dialled %s, want the pod IP", addr)
	}
}

// R41/R56: HTTPS without certificate verification; a pod without IP is
// probed on loopback inside its namespace.
func TestR41HTTPSAndNoPodIP(t *testing.T) {
	srv, _ := newHTTPServer(t, true)
	port := serverPort(t, srv.URL)
	_, tg := newAppTarget()
	tg.pod.Status.PodIP = ""
	o := runProbe(context.Background(), tg, httpSpec("HTTPS", intstr.FromInt32(int32(port)), "/ok"))
	if o.result != results.Success || o.output != "fine" {
		t.Fatalf("outcome = %+v", o)
	}
}

// R41: timeoutSeconds bounds an HTTP attempt.
func TestR41HTTPTimeout(t *testing.T) {
	srv, _ := newHTTPServer(t, false)
	_, tg := newAppTarget()
	start := time.Now()
	o := runProbe(context.Background(), tg, httpSpec("", intstr.FromInt32(int32(serverPort(t, srv.URL))), "/slow"))
	if o.result != results.Failure || !strings.Contains(o.output, "Client.Timeout exceeded") {
		t.Fatalf("outcome = %+v", o)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Fatalf("took %v", d)
	}
}

// R41: tcpSocket succeeds when a connection opens.
func TestR41TCPProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	f := newFakeProber(newExecScript().exec)
	c := &corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "db", ContainerPort: int32(l.Addr().(*net.TCPAddr).Port)}}}
	tg := newTarget(f, c)
	spec := func(port intstr.IntOrString) *corev1.Probe {
		return &corev1.Probe{TimeoutSeconds: 1, ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: port}}}
	}
	if o := runProbe(context.Background(), tg, spec(intstr.FromString("db"))); o.result != results.Success {
		t.Fatalf("outcome = %+v", o)
	}
	refused := closedPort(t)
	o := runProbe(context.Background(), tg, spec(intstr.FromInt32(int32(refused))))
	if want := fmt.Sprintf("dial tcp 127.0.0.1:%d: connect: connection refused", refused); o.result != results.Failure || o.output != want {
		t.Fatalf("outcome = %+v, want %q", o, want)
	}
}

// R41: grpc uses the standard health service; SERVING is success.
func TestR41GRPCProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("db", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	port := int32(l.Addr().(*net.TCPAddr).Port)
	refused := int32(closedPort(t))

	_, tg := newAppTarget()
	spec := func(port int32, service *string) *corev1.Probe {
		return &corev1.Probe{TimeoutSeconds: 1, ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: port, Service: service}}}
	}
	cases := []struct {
		name   string
		spec   *corev1.Probe
		result results.Result
		output string
	}{
		{"serving", spec(port, nil), results.Success, "service healthy"},
		{"not serving", spec(port, ptr("db")), results.Failure, `service unhealthy (responded with "NOT_SERVING")`},
		{"unknown service", spec(port, ptr("x")), results.Failure, "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service"},
		{"refused", spec(refused, nil), results.Failure, "error: health rpc probe failed: rpc error: code = Unavailable desc = connection error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := runProbe(context.Background(), tg, tc.spec)
			if o.err != nil || o.result != tc.result || !strings.HasPrefix(o.output, tc.output) {
				t.Fatalf("outcome = %+v, want %s %q", o, tc.result, tc.output)
			}
		})
	}
}

// R41: a redirect to another host reaches the engine as a Success with
// Warning set (ProbeWarning event).
func TestR41WarningUpdate(t *testing.T) {
	srv, _ := newHTTPServer(t, false)
	_, _, m, clk := scriptedManager()
	p := httpSpec("", intstr.FromInt32(int32(serverPort(t, srv.URL))), "/other")
	p.PeriodSeconds = 1
	m.AddInstance(testPod("p"), &corev1.Container{Name: "app", ReadinessProbe: p}, "i1", clk.Now())
	defer m.RemoveInstance("i1")
	u := expectUpdate(t, m, results.Readiness, results.Success)
	if !u.Warning || !strings.HasPrefix(u.Output, "Probe terminated redirects, Response body: ") {
		t.Fatalf("update = %+v", u)
	}
	clk.Step(time.Second) // unchanged result, but the warning is reported again
	u = expectUpdate(t, m, results.Readiness, results.Success)
	if !u.Warning {
		t.Fatalf("update = %+v", u)
	}
}
