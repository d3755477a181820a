package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/podrun/podrun/supervisor"
)

// ImportCommand is the argument that makes the podrund executable import
// an image archive from its stdin (ImportMain) instead of running the
// daemon.
const ImportCommand = "import-image"

// importResult is what the import child prints on stdout.
type importResult struct {
	Names   []string `json:"names,omitempty"`
	Error   string   `json:"error,omitempty"`
	Invalid bool     `json:"invalid,omitempty"` // the archive, not the host, is at fault
}

// importInChild runs an import in a child process (Options.ImportBinary)
// and returns the imported images' status. An import reads and writes the
// whole archive through containerd's content store and unpacks it: code
// and buffers podrund needs for nothing else. Done in podrund itself it
// left ~1.3 MiB resident for good (a sizeable share of the idle footprint); in a child
// that memory goes back when the child exits.
func (r *Runtime) importInChild(ctx context.Context, rd io.Reader) ([]supervisor.ImageStatus, error) {
	cmd := exec.CommandContext(ctx, r.opts.ImportBinary, ImportCommand,
		r.opts.Address, r.ns, r.snapshotter)
	cmd.Stdin = rd
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	runErr := cmd.Run()
	var res importResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("import child: %v; %s", errors.Join(runErr, err), strings.TrimSpace(stderr.String()))
	}
	if res.Error != "" {
		if res.Invalid { // the child's message ends with the class's own text
			msg := strings.TrimSuffix(res.Error, ": "+errdefs.ErrInvalidArgument.Error())
			return nil, fmt.Errorf("%s: %w", msg, errdefs.ErrInvalidArgument)
		}
		return nil, errors.New(res.Error)
	}
	ctx = r.nsCtx(ctx)
	list := make([]supervisor.ImageStatus, 0, len(res.Names))
	for _, name := range res.Names {
		img, err := r.client.GetImage(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("imported image %s: %w", name, err)
		}
		st, err := r.statusOf(ctx, img)
		if err != nil {
			return nil, err
		}
		list = append(list, st)
	}
	return list, nil
}

// ImportMain is the import child: "podrund import-image ADDRESS NAMESPACE
// SNAPSHOTTER" imports the archive on stdin with the daemon's own code
// (importArchive) and prints an importResult. It exits 0 when it could
// say what happened.
func ImportMain(args []string) int {
	enc := json.NewEncoder(os.Stdout)
	if len(args) != 3 {
		_ = enc.Encode(importResult{Error: "usage: podrund " + ImportCommand + " ADDRESS NAMESPACE SNAPSHOTTER"})
		return 2
	}
	address, ns, snapshotter := args[0], args[1], args[2]
	client, err := containerd.New(address, containerd.WithDefaultNamespace(ns))
	if err != nil {
		_ = enc.Encode(importResult{Error: fmt.Sprintf("connect to containerd at %s: %v", address, err)})
		return 1
	}
	defer client.Close()
	imgs, err := importArchive(context.Background(), client, snapshotter, os.Stdin)
	if err != nil {
		_ = enc.Encode(importResult{Error: err.Error(), Invalid: errdefs.IsInvalidArgument(err)})
		return 0
	}
	res := importResult{Names: make([]string, 0, len(imgs))}
	for _, img := range imgs {
		res.Names = append(res.Names, img.Name())
	}
	_ = enc.Encode(res)
	return 0
}
