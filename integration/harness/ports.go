package harness

import (
	"net"
	"testing"
)

// FreePort returns a TCP port on host ("" for every address) that nothing
// listens on now. Another process may take it before the caller binds it;
// callers that can lose that race retry.
func FreePort(t testing.TB, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("find a free port on %q: %v", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
