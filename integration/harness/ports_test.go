package harness

import (
	"net"
	"strconv"
	"testing"
)

// The port FreePort returns is free: a listener can take it at once.
func TestFreePort(t *testing.T) {
	for _, host := range []string{"127.0.0.1", ""} {
		port := FreePort(t, host)
		if port <= 0 {
			t.Fatalf("FreePort(%q) = %d", host, port)
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("FreePort(%q) = %d, but listening there: %v", host, port, err)
		}
		l.Close()
	}
}
