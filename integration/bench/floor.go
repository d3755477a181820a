package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	gocni "github.com/containerd/go-cni"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// floor is containerd's own cost of the benchmark's pod: the same three
// containers (same image, a fresh overlayfs snapshot each, the same
// command), created and started one after another straight through the
// containerd v2 client, no podrund involved. The first container gets new
// namespaces; the other two join its network, IPC and UTS namespaces, as
// podrun's containers share the pod's. In CNI mode a network namespace is
// made and set up by the same bridge conflist first, and all three join it.
type floor struct {
	c           *containerd.Client
	img         containerd.Image
	snapshotter string
	dir         string
	cni         gocni.CNI // nil: loopback only
}

const floorSnapshotter = "overlayfs"

func newFloor(ctx context.Context, c *containerd.Client, tarball, dir string, cni *CNIConfig) (*floor, error) {
	f := &floor{c: c, snapshotter: floorSnapshotter, dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tar, err := os.Open(tarball)
	if err != nil {
		return nil, err
	}
	defer tar.Close()
	if _, err := c.Import(ctx, tar); err != nil {
		return nil, fmt.Errorf("floor: import image: %w", err)
	}
	if f.img, err = c.GetImage(ctx, BenchImage); err != nil {
		return nil, fmt.Errorf("floor: image %s: %w", BenchImage, err)
	}
	if err := f.img.Unpack(ctx, f.snapshotter); err != nil {
		return nil, fmt.Errorf("floor: unpack: %w", err)
	}
	if cni != nil {
		f.cni, err = gocni.New(gocni.WithPluginConfDir(cni.ConfDir), gocni.WithPluginDir([]string{cni.BinDir}),
			gocni.WithInterfacePrefix("eth"))
		if err == nil {
			err = f.cni.Load(gocni.WithDefaultConf)
		}
		if err != nil {
			return nil, fmt.Errorf("floor: load CNI config: %w", err)
		}
	}
	return f, nil
}

// floorPod is what runPod made, for cleanup.
type floorPod struct {
	f          *floor
	id         string
	ns         *floorNetNS
	containers []containerd.Container
}

// runPod creates and starts the three containers and returns how long that
// took, from the first create call until the third task's Start returned.
func (f *floor) runPod(ctx context.Context, i int) (time.Duration, *floorPod, error) {
	fp := &floorPod{f: f, id: fmt.Sprintf("floor-%d-%d", i, time.Now().UnixNano())}
	t0 := time.Now()
	var shared []oci.SpecOpts
	if f.cni != nil {
		ns, err := newNetNS(filepath.Join(f.dir, "netns"), fp.id)
		if err != nil {
			return 0, fp, fmt.Errorf("floor: create netns: %w", err)
		}
		fp.ns = ns
		if _, err := f.cni.Setup(ctx, fp.id, ns.path); err != nil {
			return 0, fp, fmt.Errorf("floor: CNI setup: %w", err)
		}
		shared = append(shared, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: ns.path}))
	}
	for j, name := range []string{sidecar1, sidecar2, appName} {
		task, err := f.start(ctx, fp, fp.id+"-"+name, shared)
		if err != nil {
			return 0, fp, err
		}
		if j == 0 {
			shared = append(shared, joinNamespaces(task.Pid(), f.cni == nil)...)
		}
	}
	return time.Since(t0), fp, nil
}

func (f *floor) start(ctx context.Context, fp *floorPod, id string, extra []oci.SpecOpts) (containerd.Task, error) {
	opts := append([]oci.SpecOpts{oci.WithImageConfig(f.img), oci.WithProcessArgs("sh", "-c", waitTERM)}, extra...)
	cont, err := f.c.NewContainer(ctx, id,
		containerd.WithImage(f.img),
		containerd.WithSnapshotter(f.snapshotter),
		containerd.WithNewSnapshot(id, f.img),
		containerd.WithNewSpec(opts...))
	if err != nil {
		return nil, fmt.Errorf("floor: create container %s: %w", id, err)
	}
	fp.containers = append(fp.containers, cont)
	task, err := cont.NewTask(ctx, cio.LogFile(filepath.Join(f.dir, id+".log")))
	if err != nil {
		return nil, fmt.Errorf("floor: create task %s: %w", id, err)
	}
	if err := task.Start(ctx); err != nil {
		return nil, fmt.Errorf("floor: start task %s: %w", id, err)
	}
	return task, nil
}

// joinNamespaces makes later containers share the first one's namespaces.
func joinNamespaces(pid uint32, withNet bool) []oci.SpecOpts {
	kinds := map[specs.LinuxNamespaceType]string{specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts"}
	if withNet {
		kinds[specs.NetworkNamespace] = "net"
	}
	var out []oci.SpecOpts
	for typ, name := range kinds {
		out = append(out, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: typ, Path: fmt.Sprintf("/proc/%d/ns/%s", pid, name)}))
	}
	return out
}

// remove kills and deletes everything runPod made (not timed).
func (fp *floorPod) remove(ctx context.Context) error {
	var errs []error
	for i := len(fp.containers) - 1; i >= 0; i-- {
		cont := fp.containers[i]
		if task, err := cont.Task(ctx, nil); err == nil {
			if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil {
				errs = append(errs, fmt.Errorf("delete task %s: %w", cont.ID(), err))
			}
		}
		if err := cont.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
			errs = append(errs, fmt.Errorf("delete container %s: %w", cont.ID(), err))
		}
		_ = os.Remove(filepath.Join(fp.f.dir, cont.ID()+".log"))
	}
	if fp.ns != nil {
		if fp.f.cni != nil {
			errs = append(errs, fp.f.cni.Remove(ctx, fp.id, fp.ns.path))
		}
		errs = append(errs, fp.ns.remove())
	}
	return errors.Join(errs...)
}

// measureFloor runs n floor pods one after another.
func (f *floor) measure(ctx context.Context, n int) ([]time.Duration, error) {
	var out []time.Duration
	for i := 0; i < n; i++ {
		d, fp, err := f.runPod(ctx, i)
		rerr := fp.remove(ctx)
		if err != nil {
			return out, err
		}
		if rerr != nil {
			return out, rerr
		}
		out = append(out, d)
	}
	return out, nil
}
