package server

import (
	"net/http"
	"strings"
	"testing"
)

func TestPprofOnlyWithOption(t *testing.T) {
	on := newTestServer(t, func(o *Options) { o.Pprof = true })
	for path, want := range map[string]string{
		"/debug/pprof/":                  "goroutine",
		"/debug/pprof/goroutine?debug=1": "goroutine profile: total",
		"/debug/pprof/heap?debug=1":      "heap profile:",
		"/debug/pprof/cmdline":           "",
	} {
		code, body := on.do(http.MethodGet, path, "", nil)
		if code != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("with Pprof: GET %s = %d, want 200 with %q:\n%.300s", path, code, want, body)
		}
	}
	if code, _ := on.do(http.MethodGet, "/debug/pprof/nosuch", "", nil); code != http.StatusNotFound {
		t.Errorf("with Pprof: unknown profile answered %d, want 404", code)
	}

	off := newTestServer(t, nil)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
		code, body := off.do(http.MethodGet, path, "", nil)
		if code != http.StatusNotFound {
			t.Errorf("without Pprof: GET %s = %d, want 404: %.300s", path, code, body)
		}
		if st := off.status(body); st.Reason != "NotFound" {
			t.Errorf("without Pprof: GET %s answered %+v, want a NotFound Status", path, st)
		}
	}
}
