package probes

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// cgiServer is a sidecar running busybox httpd whose /cgi-bin/mark?WHAT
// appends "<uptime> hook WHAT" to the order file, so that httpGet hooks
// leave a line when podrund calls them.
func cgiServer() harness.Container {
	script := "#!/bin/sh\n" + `echo "$(cut -d' ' -f1 /proc/uptime) hook $QUERY_STRING" >> /shared/order.log` +
		"\nprintf 'Content-Type: text/plain\\r\\n\\r\\nok\\n'\n"
	setup := "mkdir -p /www/cgi-bin && printf %s " + shq(script) + " > /www/cgi-bin/mark && chmod +x /www/cgi-bin/mark && " +
		"httpd -p 8080 -h /www && " + harness.OrderMark("web", "Started") + "; touch /tmp/up; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"
	// The startup probe waits for a mark touched after "web Started", not for
	// the port: httpd listens before the shell writes that line, and once the
	// probe passes the sidecar is started (R17) and the app with its postStart
	// hook follows at once, so the hook's line could come first under load.
	return harness.Container{Name: "web", Sidecar: true, Command: []string{"sh", "-c", setup},
		Extra: probe("startupProbe", "      exec:\n        command: [\"test\", \"-e\", \"/tmp/up\"]\n", 30)}
}

func httpHook(kind, what string) string {
	return "      " + kind + ":\n        httpGet:\n          path: /cgi-bin/mark?" + what + "\n          port: 8080\n"
}

// TestHTTPGetHooks: an httpGet postStart runs before the next container
// starts (R52, R56) and an httpGet preStop runs before the stop signal
// (R54) — both sent by podrund into the pod's network namespace.
func TestHTTPGetHooks(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	trapApp := []string{"sh", "-c", harness.OrderMark("app", "Started") + "; trap " + shq(harness.OrderMark("app", "TERM")+"; exit 0") +
		" TERM; while true; do sleep 1 & wait $!; done"}
	ps := harness.Pod{Name: "httphooks", Grace: 10,
		Inits: []harness.Container{cgiServer()},
		Containers: []harness.Container{
			{Name: "app", Command: trapApp, Extra: "    lifecycle:\n" + httpHook("postStart", "PostStart") + httpHook("preStop", "PreStop")},
			{Name: "next", Command: forever("next")},
		},
	}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("httphooks", "next running", 60*time.Second, func(p *corev1.Pod) bool { return running(p, "next") })
	lines := c.WaitOrder("httphooks", 15*time.Second, "next Started", "hook PostStart")
	harness.ExpectOrder(t, lines, "web Started", "hook PostStart", "next Started")
	c.DeleteAndWait("httphooks")
	lines = c.ReadOrder("httphooks")
	harness.ExpectOrder(t, lines, "next Started", "hook PreStop", "app TERM")
}
