package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
)

// newTransport returns an HTTP transport that dials inside the pod's network
// namespace. Like the kubelet's prober it opens a new connection per request
// (no keep-alive: a probe checks that the server still accepts), does not
// verify certificates, uses no proxy and asks for no compression.
func newTransport(p Prober, pod func() *corev1.Pod) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return p.Dial(ctx, pod(), network, addr)
		},
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // R56: probes and hooks do not verify
		DisableKeepAlives:   true,
		DisableCompression:  true,
		Proxy:               nil,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// newHTTPRequest builds the GET of an httpGet handler as the kubelet does:
// scheme lower-cased (default http), host defaulting to the pod IP, port by
// number or name, the handler's headers (a Host header sets the request's
// Host), a default User-Agent and Accept.
func newHTTPRequest(ctx context.Context, a *corev1.HTTPGetAction, pod *corev1.Pod, c *corev1.Container, userAgent string) (*http.Request, error) {
	port, err := resolvePort(a.Port, c)
	if err != nil {
		return nil, err
	}
	scheme := strings.ToLower(string(a.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	host := a.Host
	if host == "" {
		host = podIP(pod)
	}
	u, err := url.Parse(a.Path)
	if err != nil {
		u = &url.URL{Path: a.Path} // the kubelet passes a busted path along as is
	}
	u.Scheme = scheme
	u.Host = net.JoinHostPort(host, strconv.Itoa(port))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build request for %s: %w", u, err)
	}
	for _, h := range a.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", userAgent)
	}
	if v, ok := req.Header["Accept"]; !ok {
		req.Header.Set("Accept", "*/*")
	} else if len(v) == 0 || v[0] == "" {
		req.Header.Del("Accept")
	}
	req.Host = req.Header.Get("Host")
	return req, nil
}

// newHTTPClient follows redirects only to the same host (R41): a redirect to
// another host ends with the 3xx response itself.
func newHTTPClient(rt http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: rt,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Hostname() != via[0].URL.Hostname() {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		},
	}
}

// httpProbe: 2xx–3xx is success; a 3xx that was not followed is a success
// with a ProbeWarning (R41). Outputs use the kubelet's wording.
func httpProbe(ctx context.Context, t *target, a *corev1.HTTPGetAction, timeout time.Duration) outcome {
	req, err := newHTTPRequest(ctx, a, t.pod, t.container, probeUserAgent)
	if err != nil {
		return outcome{result: results.Failure, output: err.Error()}
	}
	res, err := newHTTPClient(t.transport, timeout).Do(req)
	if err != nil {
		return outcome{result: results.Failure, output: err.Error()}
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxOutput))
	if err != nil {
		// The kubelet discards an attempt whose body cannot be read.
		return outcome{err: fmt.Errorf("read probe response: %w", err)}
	}
	body := string(b)
	switch {
	case res.StatusCode >= 300 && res.StatusCode < 400:
		return outcome{result: results.Success, warning: true,
			output: "Probe terminated redirects, Response body: " + body}
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return outcome{result: results.Success, output: body}
	}
	// Like the kubelet, the body is not shown: it may hold secrets.
	return outcome{result: results.Failure, output: fmt.Sprintf("HTTP probe failed with statuscode: %d", res.StatusCode)}
}
