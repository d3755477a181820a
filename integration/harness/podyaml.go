package harness

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
)

// Busybox is the image test containers run unless they name another.
const Busybox = "busybox:1.28"

// Pod is a test pod whose containers all mount the directory
// HostDir/NAME at /shared (a hostPath), where they leave order files (see
// OrderMark) that outlive the pod; NoSharedDir leaves that volume out, for
// pods that only need to run.
type Pod struct {
	Name          string
	RestartPolicy string // Always when empty
	Grace         int    // terminationGracePeriodSeconds when > 0
	NoSharedDir   bool   // no /shared hostPath volume or mounts
	Inits         []Container
	Containers    []Container
	Extra         string // raw YAML lines below spec, indented by 2 spaces
}

// Container is one container of a test Pod.
type Container struct {
	Name    string
	Image   string // Busybox unless set
	Pull    string // imagePullPolicy when set
	Command []string
	Args    []string
	Sidecar bool   // restartPolicy: Always, on an init container
	Extra   string // raw YAML lines for the container, indented by 4 spaces
}

// PodManifest is the YAML of a Pod named name whose spec is spec: the
// lines under "spec:", indented by two spaces (a leading newline is
// dropped, so that a raw string may start on its own line). Tests whose
// pods reach beyond the Pod builder write them this way, with the
// header said once here.
func PodManifest(name, spec string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\nspec:\n" + strings.TrimPrefix(spec, "\n")
}

// YAML renders the pod with hostDir (a Client's HostDir) as the parent of
// its shared dir; hostDir is unused with NoSharedDir.
func (p Pod) YAML(hostDir string) string {
	var b strings.Builder
	b.WriteString(PodManifest(p.Name, ""))
	if p.RestartPolicy != "" {
		fmt.Fprintf(&b, "  restartPolicy: %s\n", p.RestartPolicy)
	}
	if p.Grace > 0 {
		fmt.Fprintf(&b, "  terminationGracePeriodSeconds: %d\n", p.Grace)
	}
	if !p.NoSharedDir {
		fmt.Fprintf(&b, "  volumes:\n  - name: shared\n    hostPath:\n      path: %s\n      type: DirectoryOrCreate\n",
			filepath.Join(hostDir, p.Name))
	}
	b.WriteString(p.Extra)
	writeContainers(&b, "initContainers", p.Inits, !p.NoSharedDir)
	writeContainers(&b, "containers", p.Containers, !p.NoSharedDir)
	return b.String()
}

func writeContainers(b *strings.Builder, key string, cs []Container, shared bool) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintf(b, "  %s:\n", key)
	for _, c := range cs {
		img := c.Image
		if img == "" {
			img = Busybox
		}
		fmt.Fprintf(b, "  - name: %s\n    image: %s\n", c.Name, img)
		if c.Pull != "" {
			fmt.Fprintf(b, "    imagePullPolicy: %s\n", c.Pull)
		}
		if c.Command != nil {
			fmt.Fprintf(b, "    command: %s\n", YAMLList(c.Command))
		}
		if c.Args != nil {
			fmt.Fprintf(b, "    args: %s\n", YAMLList(c.Args))
		}
		if c.Sidecar {
			b.WriteString("    restartPolicy: Always\n")
		}
		if shared {
			b.WriteString("    volumeMounts:\n    - name: shared\n      mountPath: /shared\n")
		}
		b.WriteString(c.Extra)
	}
}

// JobManifest is the YAML of a batch/v1 Job named name: specLines (YAML
// indented by two spaces, such as "  backoffLimit: 0\n") and then a pod
// template rendered from pod like Pod.YAML(hostDir) (pod.Name names only its shared dir).
func JobManifest(name, specLines string, pod Pod, hostDir string) string {
	podSpec := strings.TrimPrefix(pod.YAML(hostDir), PodManifest(pod.Name, ""))
	var b strings.Builder
	b.WriteString("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: " + name + "\nspec:\n" + specLines + "  template:\n    spec:\n")
	for _, l := range strings.SplitAfter(podSpec, "\n") {
		if l != "" {
			b.WriteString("    " + l)
		}
	}
	return b.String()
}

// Sh is the command of a container that runs script with sh -c.
func Sh(script string) []string { return []string{"sh", "-c", script} }

// YAMLList renders strings as a YAML flow sequence (a JSON array is one),
// so that shell scripts need no YAML quoting.
func YAMLList(items []string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(items) // a []string always encodes
	return strings.TrimSpace(b.String())
}
