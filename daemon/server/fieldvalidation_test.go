package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/podrun/podrun/api"
)

// A body's unknown and duplicated fields are judged by the request's
// fieldValidation as the API server judges them: Strict refuses with a
// 400 naming the field, Warn (the default) creates the object and sends
// one Warning header per field, Ignore creates it silently, and a
// directive it does not know is a 422 on the request's options.
func TestFieldValidation(t *testing.T) {
	body := strings.Replace(goodPod, "    command:", "    comand: [x]\n    command:", 1)
	body = strings.Replace(body, "metadata:\n", "metadata:\n  bogus: 1\n", 1)
	cases := []struct {
		query    string
		code     int
		warnings []string
		message  string
	}{
		{"?fieldValidation=Strict", 400, nil, `strict decoding error: unknown field "metadata.bogus", unknown field "spec.containers[0].comand"`},
		{"", 201, []string{`unknown field "metadata.bogus"`, `unknown field "spec.containers[0].comand"`}, ""},
		{"?fieldValidation=Warn", 201, []string{`unknown field "metadata.bogus"`, `unknown field "spec.containers[0].comand"`}, ""},
		{"?fieldValidation=Ignore", 201, nil, ""},
		{"?fieldValidation=strict", 422, nil, `CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict"`},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			ts := newTestServer(t, nil)
			resp, buf := ts.doResp("POST", podsPath+tc.query, "application/yaml", []byte(body))
			if resp.StatusCode != tc.code {
				t.Fatalf("code %d, want %d: %s", resp.StatusCode, tc.code, buf)
			}
			if tc.message != "" && !strings.HasPrefix(ts.status(buf).Message, tc.message) {
				t.Fatalf("message %q does not start with %q", ts.status(buf).Message, tc.message)
			}
			var warnings []string
			for _, v := range resp.Header.Values("Warning") {
				text, ok := api.ParseWarningHeader(v)
				if !ok {
					t.Fatalf("malformed Warning header %q", v)
				}
				warnings = append(warnings, text)
			}
			if strings.Join(warnings, "|") != strings.Join(tc.warnings, "|") {
				t.Fatalf("warnings %q, want %q", warnings, tc.warnings)
			}
		})
	}
}

// A hostile body with many long unknown fields under the default Warn is
// created with the API server's bounded warnings: about 4 KiB of warning
// text, not 1 MB of headers.
func TestFieldValidationWarningsBounded(t *testing.T) {
	ts := newTestServer(t, nil)
	var b strings.Builder
	b.WriteString(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"many"`)
	for i := 0; i < 200; i++ { // sigs.k8s.io/json reports the first 100, each as long as its name
		fmt.Fprintf(&b, `,"unknown%05d%s":1`, i, strings.Repeat("x", 10000))
	}
	b.WriteString(`},"spec":{"containers":[{"name":"app","image":"busybox:1.28"}]}}`)
	resp, _ := ts.doResp("POST", podsPath, "application/json", []byte(b.String()))
	if resp.StatusCode != 201 {
		t.Fatalf("code %d", resp.StatusCode)
	}
	warnings := resp.Header.Values("Warning")
	size := 0
	for _, w := range warnings {
		size += len(w)
	}
	if len(warnings) == 0 || size > 8<<10 {
		t.Fatalf("%d Warning headers, %d bytes: want some, at most 8 KiB", len(warnings), size)
	}
	t.Logf("%d Warning headers, %d bytes for 200 unknown fields of 10 KB names", len(warnings), size)
}
