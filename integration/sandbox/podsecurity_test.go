package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/cap"
	"github.com/podrun/podrun/integration/harness"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podSecurityConfig holds pods to baseline, except in the namespace of
// the subtest that shows what a pod the old policy admitted could do; the
// one host path allowed is readOnly.
func podSecurityConfig(readOnlyDir string) string {
	return "policy:\n  level: baseline\n  namespaces:\n    t-testpodsecuritybaseline-surface: privileged\n" +
		"  allowedHostPaths:\n  - {pathPrefix: " + readOnlyDir + ", readOnly: true}\n"
}

// corePatternProbe opens the host's core_pattern for append and closes
// it: writes no byte, but fails where /proc/sys is read-only.
const corePatternProbe = "if (exec 3>>/proc/sys/kernel/core_pattern) 2>/dev/null; then echo writable; else echo read-only; fi"

// sleeper is a pod whose one container sleeps; extra is inserted under
// the container (its securityContext).
func sleeper(name, extra string) string {
	return harness.Pod{Name: name, Grace: 1, NoSharedDir: true, Containers: []harness.Container{{
		Name: "app", Command: []string{"sleep", "3600"}, Extra: extra,
	}}}.YAML("")
}

// TestPodSecurityBaseline attacks a real podrund whose config sets
// policy.level: baseline, through podctl and the socket: the pods of the
// security review are refused with the API server's 403, and so are a Job
// whose template is privileged and an apply that would make a running pod
// privileged; a baseline pod runs. The "surface" subtest shows, in a
// namespace left at level privileged, what such a pod got before (the old
// allowPrivileged: false checked only the privileged flag): CAP_SYS_ADMIN
// and a writable /proc/sys/kernel/core_pattern of the host.
func TestPodSecurityBaseline(t *testing.T) {
	t.Parallel()
	roDir, err := os.MkdirTemp(env.Base, "ro")
	if err != nil {
		t.Fatal(err)
	}
	d := openDaemon(t, "pss", podSecurityConfig(roDir))

	t.Run("hostpaths", func(t *testing.T) {
		c := env.ClientOn(t, d)
		// Under the readOnly prefix: exempt from baseline's hostPath ban,
		// but only mounted readOnly.
		pod := func(readOnly bool) string {
			return sleeper("h", fmt.Sprintf("    volumeMounts:\n    - {name: h, mountPath: /h, readOnly: %t}\n", readOnly)) +
				"  volumes:\n  - name: h\n    hostPath: {path: " + roDir + "/sub, type: DirectoryOrCreate}\n"
		}
		code, body := c.REST(http.MethodPost, c.PodPath(""), "application/yaml", strings.NewReader(pod(false)))
		msg := `pods "h" is forbidden: hostPath volume "h": ` + roDir + `/sub is under a readOnly allowedHostPaths prefix, so container "app" must set volumeMounts readOnly: true`
		var st metav1.Status
		_ = json.Unmarshal(body, &st)
		if code != http.StatusForbidden || st.Message != msg {
			t.Errorf("writable mount under a readOnly prefix: HTTP %d %s\nwant 403 %q", code, body, msg)
		}
		applyReady(t, c, pod(true), "h")
		shFails(t, c, "h", "app", "touch /h/x")
		deletePod(t, c, "h")
		// Outside the prefix baseline's own hostPath ban applies.
		outside := strings.Replace(pod(true), roDir+"/sub", roDir+"x", 1)
		code, body = c.REST(http.MethodPost, c.PodPath(""), "application/yaml", strings.NewReader(outside))
		_ = json.Unmarshal(body, &st)
		if want := `pods "h" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "h")`; code != http.StatusForbidden || st.Message != want {
			t.Errorf("hostPath outside the prefix: HTTP %d %s\nwant 403 %q", code, body, want)
		}
	})

	t.Run("refused", func(t *testing.T) {
		c := env.ClientOn(t, d)
		const msgHead = `pods "bad" is forbidden: violates PodSecurity "baseline:latest": `
		cases := map[string]struct{ manifest, msg string }{
			"SYS_ADMIN and SYS_MODULE": {sleeper("bad", "    securityContext:\n      capabilities: {add: [SYS_ADMIN, SYS_MODULE]}\n"),
				msgHead + `non-default capabilities (container "app" must not include "SYS_ADMIN", "SYS_MODULE" in securityContext.capabilities.add)`},
			"procMount Unmasked": {sleeper("bad", "    securityContext: {procMount: Unmasked}\n"),
				msgHead + `procMount (container "app" must not set securityContext.procMount to "Unmasked")`},
			"seccomp Unconfined": {sleeper("bad", "    securityContext:\n      seccompProfile: {type: Unconfined}\n"),
				msgHead + `seccompProfile (container "app" must not set securityContext.seccompProfile.type to "Unconfined")`},
			"privileged": {sleeper("bad", "    securityContext: {privileged: true}\n"),
				msgHead + `privileged (container "app" must not set securityContext.privileged=true)`},
			"the review's pod": {sleeper("bad", "    securityContext:\n      procMount: Unmasked\n      capabilities: {add: [SYS_ADMIN]}\n      seccompProfile: {type: Unconfined}\n"),
				msgHead + `non-default capabilities (container "app" must not include "SYS_ADMIN" in securityContext.capabilities.add), ` +
					`procMount (container "app" must not set securityContext.procMount to "Unmasked"), ` +
					`seccompProfile (container "app" must not set securityContext.seccompProfile.type to "Unconfined")`},
			"privileged Job template": {harness.JobManifest("bad", "", harness.Pod{RestartPolicy: "Never", NoSharedDir: true,
				Containers: []harness.Container{{Name: "work", Command: []string{"true"}, Extra: "    securityContext: {privileged: true}\n"}}}, ""),
				`jobs.batch "bad" is forbidden: violates PodSecurity "baseline:latest": privileged (container "work" must not set securityContext.privileged=true)`},
		}
		for name, tc := range cases {
			path := c.PodPath("")
			if strings.Contains(tc.manifest, "kind: Job") {
				path = "/apis/batch/v1/namespaces/" + c.NS + "/jobs"
			}
			code, body := c.REST(http.MethodPost, path, "application/yaml", strings.NewReader(tc.manifest))
			var st metav1.Status
			_ = json.Unmarshal(body, &st)
			if code != http.StatusForbidden || st.Reason != metav1.StatusReasonForbidden || st.Message != tc.msg {
				t.Errorf("%s over the socket: HTTP %d %s\nwant 403 %q", name, code, body, tc.msg)
			}
			_, errOut, exit := c.PodctlStdin(strings.NewReader(tc.manifest), "apply", "-f", "-")
			if exit == 0 || !strings.Contains(errOut, "Error from server (Forbidden): "+tc.msg) {
				t.Errorf("%s with podctl apply: exit %d, stderr %q", name, exit, errOut)
			}
		}
		if code, _ := c.REST(http.MethodGet, c.PodPath("bad"), "", nil); code != http.StatusNotFound {
			t.Errorf("a refused pod was stored: GET answered %d", code)
		}
		if code, _ := c.REST(http.MethodGet, "/apis/batch/v1/namespaces/"+c.NS+"/jobs/bad", "", nil); code != http.StatusNotFound {
			t.Errorf("the refused Job was stored: GET answered %d", code)
		}
		if pods, _, _ := c.Podctl("get", "pods", "-o", "name"); strings.TrimSpace(pods) != "" {
			t.Errorf("pods exist after the refusals: %q", pods)
		}

		// Bidirectional propagation is refused to an unprivileged
		// container by validation, at every level.
		bidi := sleeper("bad", "    volumeMounts:\n    - {name: d, mountPath: /d, mountPropagation: Bidirectional}\n") +
			"  volumes:\n  - {name: d, emptyDir: {}}\n"
		code, body := c.REST(http.MethodPost, c.PodPath(""), "application/yaml", strings.NewReader(bidi))
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body),
			"spec.containers[0].volumeMounts[0].mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers") {
			t.Errorf("Bidirectional mount of an unprivileged container: HTTP %d %s", code, body)
		}

		// A baseline pod runs; an apply making it privileged is refused
		// and the running pod stays as it was.
		p := applyReady(t, c, sleeper("good", ""), "good")
		_, errOut, exit := c.PodctlStdin(strings.NewReader(sleeper("good", "    securityContext: {privileged: true}\n")), "apply", "-f", "-")
		if exit == 0 || !strings.Contains(errOut, `Error from server (Forbidden): pods "good" is forbidden: violates PodSecurity "baseline:latest": privileged`) {
			t.Errorf("apply turning a running pod privileged: exit %d, stderr %q", exit, errOut)
		}
		now := c.GetPod("good")
		if now.UID != p.UID || now.DeletionTimestamp != nil || now.Spec.Containers[0].SecurityContext != nil {
			t.Errorf("the refused apply changed the pod: uid %s->%s, deletion %v, securityContext %+v",
				p.UID, now.UID, now.DeletionTimestamp, now.Spec.Containers[0].SecurityContext)
		}
		want(t, "CapEff of the baseline pod has no CAP_SYS_ADMIN", fmt.Sprint(hasCap(sh(t, c, "good", "app", "grep CapEff /proc/self/status"), "CAP_SYS_ADMIN")), "false")
		want(t, "core_pattern in the baseline pod", sh(t, c, "good", "app", corePatternProbe), "read-only")
		deletePod(t, c, "good")
	})

	t.Run("surface", func(t *testing.T) {
		c := env.ClientOn(t, d)
		// What the review's pod gets where nothing holds it back. Nothing
		// is written: the writability of the host's core_pattern is shown
		// by opening it for append, which writes no byte.
		applyReady(t, c, sleeper("wide", "    securityContext:\n      procMount: Unmasked\n      capabilities: {add: [SYS_ADMIN, SYS_MODULE]}\n      seccompProfile: {type: Unconfined}\n"), "wide")
		eff := sh(t, c, "wide", "app", "grep CapEff /proc/self/status")
		if !hasCap(eff, "CAP_SYS_ADMIN") || !hasCap(eff, "CAP_SYS_MODULE") {
			t.Errorf("the unrestricted pod lacks CAP_SYS_ADMIN/CAP_SYS_MODULE: %s", eff)
		}
		want(t, "open /proc/sys/kernel/core_pattern for writing", sh(t, c, "wide", "app", corePatternProbe), "writable")
		deletePod(t, c, "wide")

		// add: [ALL] is the host's bounding set, so it runs here although
		// this host's bounding set lacks a capability containerd knows.
		bounding := hostBounding(t)
		applyReady(t, c, sleeper("all", "    securityContext:\n      capabilities: {add: [ALL]}\n"), "all")
		eff = sh(t, c, "all", "app", "grep CapEff /proc/self/status")
		for _, n := range bounding {
			if !hasCap(eff, n) {
				t.Errorf("add: [ALL] container lacks %s of the host's bounding set: %s", n, eff)
			}
		}
		deletePod(t, c, "all")

		// A capability named in add that the host cannot grant is the
		// container's CreateContainerError naming it.
		missing := ""
		for _, n := range cap.Known() {
			if !slices.Contains(bounding, n) {
				missing = n
				break
			}
		}
		if missing == "" {
			t.Logf("this host's bounding set holds every capability; a named one always runs")
			return
		}
		c.Apply(sleeper("named", fmt.Sprintf("    securityContext:\n      capabilities: {add: [%s]}\n", strings.TrimPrefix(missing, "CAP_"))))
		p := c.WaitFor("named", "CreateContainerError", 90*time.Second, func(p *corev1.Pod) bool {
			w := harness.Waiting(p, "app")
			return w != nil && w.Reason == "CreateContainerError"
		})
		wantContains(t, "CreateContainerError message", harness.Waiting(p, "app").Message,
			missing+" is not in the host's capability bounding set")
		deletePod(t, c, "named")
	})
}

// hasCap reports whether a "CapEff:\tHEX" line holds capability name.
func hasCap(line, name string) bool {
	var bits uint64
	if _, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "CapEff:")), "%x", &bits); err != nil {
		return false
	}
	names, _ := cap.FromBitmap(bits)
	return slices.Contains(names, name)
}

// hostBounding is this (root) test process's bounding set, the same as
// podrund's.
func hostBounding(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sets, err := cap.ParseProcPIDStatus(f)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := cap.FromBitmap(sets[cap.Bounding])
	return names
}
