package containerd

import (
	"encoding/base64"
	"testing"
)

func TestNormaliseRef(t *testing.T) {
	for in, want := range map[string]string{
		"busybox:1.28":                   "docker.io/library/busybox:1.28",
		"busybox":                        "docker.io/library/busybox:latest",
		"localhost:5000/app":             "localhost:5000/app:latest",
		"quay.io/x/y:v1":                 "quay.io/x/y:v1",
		"docker.io/library/busybox:1.28": "docker.io/library/busybox:1.28",
	} {
		got, err := NormaliseRef(in)
		if err != nil || got != want {
			t.Errorf("NormaliseRef(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NormaliseRef("Bad:Name:x"); err == nil {
		t.Error("invalid name accepted")
	}
}

func TestArchiveRefName(t *testing.T) {
	for in, want := range map[string]string{
		"busybox:1.28":       "docker.io/library/busybox:1.28",
		"example.com/a/b:v2": "example.com/a/b:v2",
		"1.28":               "", // a bare tag names no repository
		"latest":             "",
	} {
		if got := archiveRefName(in); got != want {
			t.Errorf("archiveRefName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLookupAuth(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString([]byte("bob:pa:ss"))
	cfg := []byte(`{"auths":{
		"https://index.docker.io/v1/":{"auth":"` + enc + `"},
		"localhost:5000":{"username":"u","password":"p"},
		"ghcr.io":{"identitytoken":"tok"}}}`)
	for _, tc := range []struct{ host, user, pass string }{
		{"registry-1.docker.io", "bob", "pa:ss"},
		{"localhost:5000", "u", "p"},
		{"ghcr.io", "", "tok"},
		{"quay.io", "", ""},
	} {
		u, p, err := lookupAuth(cfg, tc.host)
		if err != nil || u != tc.user || p != tc.pass {
			t.Errorf("lookupAuth(%s) = %q %q %v, want %q %q", tc.host, u, p, err, tc.user, tc.pass)
		}
	}
	if _, _, err := lookupAuth([]byte("{"), "x"); err == nil {
		t.Error("broken config.json accepted")
	}
}
