package server

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
)

func TestKubeconfigEndpoint(t *testing.T) {
	none := newTestServer(t, nil)
	code, data := none.do("POST", "/podrun/v1/kubeconfig", "", nil)
	if code != 400 || !strings.Contains(none.status(data).Message, "--listen-https") {
		t.Errorf("without a listener: %d %s", code, data)
	}

	var asked []string
	ts := newTestServer(t, func(o *Options) {
		o.Kubeconfig = func(server string) ([]byte, error) {
			asked = append(asked, server)
			return []byte("apiVersion: v1\nkind: Config\n"), nil
		}
	})
	for q, want := range map[string]int{"": 200, "?server=https://edge.example:6443": 200,
		"?server=http://edge:6443": 400, "?server=https://user:pw@edge:6443": 400, "?server=%zz": 400} {
		if code, data := ts.do("POST", "/podrun/v1/kubeconfig"+q, "", nil); code != want {
			t.Errorf("kubeconfig%s: %d %s, want %d", q, code, data, want)
		}
	}
	sort.Strings(asked)
	if strings.Join(asked, ",") != ",https://edge.example:6443" {
		t.Errorf("issued for %q", asked)
	}

	// Over TLS (a client certificate holder) nothing is issued.
	req := httptest.NewRequest("POST", "/podrun/v1/kubeconfig", nil)
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	ts.srv.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || len(asked) != 2 {
		t.Errorf("over TLS: %d %s", rec.Code, rec.Body)
	}
}
