package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// nobody is the local non-root user of the attack tests.
const nobody = 65534

// hostTargets makes a root-only file and directory on the host, outside
// every podrund directory, for a container to aim symlinks at.
func hostTargets(t *testing.T) (file, dir string) {
	t.Helper()
	base := t.TempDir()
	file = filepath.Join(base, "shadow")
	if err := os.WriteFile(file, []byte("root only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(base, "private")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return file, dir
}

func ownerAndMode(p string) string {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d:%d %o", st.Uid, st.Gid, st.Mode&0o7777)
}

// TestFSGroupWalkIgnoresPlantedSymlinks: a container of a pod with
// fsGroup keeps turning the entries of its emptyDir into symlinks to a
// root-only host file and directory and back, while four other containers
// of the pod crash-loop, so that containers are created again and again.
// Neither host path may change owner or mode: fsGroup is applied once at
// set-up, and by file descriptor. (Before the fix the walk ran on every
// container create and chmodded through the links: the host file became
// 0777 or 0660.)
func TestFSGroupWalkIgnoresPlantedSymlinks(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	file, dir := hostTargets(t)
	wantFile, wantDir := ownerAndMode(file), ownerAndMode(dir)

	// 1000 entries; each pass turns them all into links (to the file or
	// the directory) and then back into files and directories.
	planter := fmt.Sprintf(`trap 'exit 0' TERM
cd /vol
i=0; while [ $i -lt 1000 ]; do : > f$i; mkdir d$i; i=$((i+1)); done
echo planted
while true; do
  i=0; while [ $i -lt 1000 ]; do ln -sfn %[1]s f$i; rm -rf d$i; ln -sfn %[2]s d$i; i=$((i+1)); done
  i=0; while [ $i -lt 1000 ]; do rm -f f$i d$i; : > f$i; mkdir d$i; i=$((i+1)); done
done`, file, dir)
	ctrs := []harness.Container{busybox("planter", planter, mountVol)}
	for i := 1; i <= 4; i++ {
		ctrs = append(ctrs, busybox(fmt.Sprintf("crash%d", i), "exit 1", mountVol))
	}
	c.Apply(podOf("fsgrace", 1, append([]string{"restartPolicy: Always"}, fsGroupVol...), ctrs...))
	logsUntil(t, c, "fsgrace", "planter", "planted", 90*time.Second)

	start := time.Now()
	var changes []string
	for time.Since(start) < 20*time.Second {
		if got := ownerAndMode(file); got != wantFile {
			changes = append(changes, fmt.Sprintf("after %v host file %s", time.Since(start).Round(time.Millisecond), got))
		}
		if got := ownerAndMode(dir); got != wantDir {
			changes = append(changes, fmt.Sprintf("after %v host dir %s", time.Since(start).Round(time.Millisecond), got))
		}
		if len(changes) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	p := c.GetPod("fsgrace")
	restarts := int32(0)
	for i := 1; i <= 4; i++ {
		if s := status(p, fmt.Sprintf("crash%d", i)); s != nil {
			restarts += s.RestartCount
		}
	}
	t.Logf("crash-loop restarts during the race: %d", restarts)
	if len(changes) > 0 {
		t.Errorf("a container changed host paths through fsGroup (file was %s, dir %s):\n  %s",
			wantFile, wantDir, strings.Join(changes, "\n  "))
	}
	if restarts < 4 {
		t.Errorf("only %d crash-loop restarts: the race was not run", restarts)
	}
	vol := filepath.Join(c.Daemon.Root, "pods", string(p.UID), "volumes", "vol")
	if got := ownerAndMode(vol); got != "0:2345 2777" {
		t.Errorf("emptyDir root %s, want 0:2345 2777 (fsGroup applied at set-up)", got)
	}
	deletePod(t, c, "fsgrace")
	if got := ownerAndMode(file); got != wantFile {
		t.Errorf("host file %s after the pod, want %s", got, wantFile)
	}
}

// asNobody runs a host program as uid/gid 65534 with the given
// supplementary groups.
func asNobody(ctx context.Context, groups []uint32, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: groups}}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// openReachableDaemon is openDaemon for attacks by a local user: the path
// down to the daemon's directory is searchable by everyone (the harness
// base is 0700 otherwise, which alone would stop the user), so only
// podrund's own modes stand between the user and its files.
func openReachableDaemon(t *testing.T, name, config string) *harness.Podrund {
	t.Helper()
	fi, err := os.Stat(env.Base)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(env.Base, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(env.Base, fi.Mode().Perm()) })
	d := openDaemon(t, name, config)
	if err := os.Chmod(d.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestLocalUserReachesNoPodData: a local non-root user cannot read a
// Secret's value anywhere below --root and --state, nor a pod's log,
// cannot run a setuid-root binary a container wrote into an emptyDir, and
// cannot use the API socket unless in socketGroup. (Before the fix the
// user found the Secret in the secret volume and the log, and ran the
// setuid binary.)
func TestLocalUserReachesNoPodData(t *testing.T) {
	t.Parallel()
	const socketGID = 4711
	d := openReachableDaemon(t, "hostfiles", fmt.Sprintf("socketGroup: %q\n", fmt.Sprint(socketGID)))
	c := env.ClientOn(t, d)
	secret := fmt.Sprintf("hf-%d-value", time.Now().UnixNano())
	c.Apply(fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: tok}\nstringData: {token: %s}\n---\n", secret) +
		podOf("leaky", 1, []string{"volumes: [{name: tok, secret: {secretName: tok}}, {name: scratch, emptyDir: {}}]"},
			busybox("app", "cat /tok/token; echo; cp /bin/busybox /scratch/suid && chmod 4755 /scratch/suid && echo planted; "+forever,
				"volumeMounts: [{name: tok, mountPath: /tok}, {name: scratch, mountPath: /scratch}]")))
	logsUntil(t, c, "leaky", "app", "planted", 90*time.Second)
	p := c.GetPod("leaky")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Root finds the value in the secret volume and in the log: the
	// search below is meaningful.
	rootHits, _ := exec.CommandContext(ctx, "grep", "-rl", secret, d.Root, d.State).Output()
	if !strings.Contains(string(rootHits), "/volumes/tok/") || !strings.Contains(string(rootHits), "/logs/") {
		t.Fatalf("root's search of %s and %s did not find the secret in its volume and the log:\n%s", d.Root, d.State, rootHits)
	}
	out, _ := asNobody(ctx, nil, "grep", "-rl", secret, d.Root, d.State)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, d.Root) || strings.HasPrefix(line, d.State) {
			t.Errorf("nobody found the secret's value in %s", line)
		}
	}
	for _, f := range strings.Fields(string(rootHits)) {
		if got, err := asNobody(ctx, nil, "cat", f); err == nil {
			t.Errorf("nobody read %s: %q", f, got)
		}
	}

	// The setuid-root copy of busybox the container made.
	suid := filepath.Join(d.Root, "pods", string(p.UID), "volumes", "scratch", "suid")
	if got := ownerAndMode(suid); got != "0:0 4755" {
		t.Fatalf("setuid binary on the host: %s, want 0:0 4755", got)
	}
	if got, err := asNobody(ctx, nil, suid, "id"); err == nil || !errors.Is(err, os.ErrPermission) {
		t.Errorf("nobody ran the container's setuid-root binary %s: %v\n%s", suid, err, got)
	}

	// The socket: root:socketGroup 0660.
	if got := ownerAndMode(d.Socket); got != fmt.Sprintf("0:%d 660", socketGID) {
		t.Errorf("socket %s, want 0:%d 660", got, socketGID)
	}
	if got, err := asNobody(ctx, nil, env.Bins.Podctl, "--socket", d.Socket, "-n", c.NS, "get", "pods"); err == nil {
		t.Errorf("nobody used the API socket:\n%s", got)
	} else if !strings.Contains(got, "permission denied") {
		t.Errorf("nobody's podctl failed for another reason than permission: %v\n%s", err, got)
	}
	if got, err := asNobody(ctx, []uint32{socketGID}, env.Bins.Podctl, "--socket", d.Socket, "-n", c.NS, "get", "pods"); err != nil || !strings.Contains(got, "leaky") {
		t.Errorf("a member of socketGroup could not use the socket: %v\n%s", err, got)
	}
	deletePod(t, c, "leaky")
}

// fsGroupVol is the spec of a pod with fsGroup 2345 and an emptyDir vol,
// which its containers mount with mountVol.
var fsGroupVol = []string{"securityContext: {fsGroup: 2345}", "volumes: [{name: vol, emptyDir: {}}]"}

const mountVol = "volumeMounts: [{name: vol, mountPath: /vol}]"

// TestFSGroupNotReappliedOnAdoption: fsGroup is applied when the emptyDir
// is set up, not again when a podrund that was killed re-adopts the pod
// and a container of it restarts: the walk would race the running
// containers. A file the container made root-only stays so. (Before the
// fix every container create walked the volume.)
func TestFSGroupNotReappliedOnAdoption(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := env.ClientOn(t, d)
	c.Apply(podOf("adopted", 1, fsGroupVol,
		busybox("keeper", "touch /vol/mine && chgrp 0 /vol/mine && chmod 600 /vol/mine && echo made; "+forever, mountVol),
		busybox("restarter", "while [ ! -f /tmp/stop ]; do sleep 1; done", mountVol)))
	logsUntil(t, c, "adopted", "keeper", "made", 90*time.Second)
	p := c.GetPod("adopted")
	mine := filepath.Join(d.Root, "pods", string(p.UID), "volumes", "vol", "mine")
	if got := ownerAndMode(mine); got != "0:0 600" {
		t.Fatalf("container's file %s, want 0:0 600", got)
	}
	if err := d.Restart(t.Context(), syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL and restart podrund: %v", err)
	}
	sh(t, c, "adopted", "restarter", "touch /tmp/stop")
	c.WaitFor("adopted", "restarter restarted", 90*time.Second, func(p *corev1.Pod) bool {
		s := status(p, "restarter")
		return s != nil && s.RestartCount >= 1 && s.State.Running != nil
	})
	if got := ownerAndMode(mine); got != "0:0 600" {
		t.Errorf("after re-adoption and a container restart the file is %s, want 0:0 600 (walked again)", got)
	}
	deletePod(t, c, "adopted")
}
