package containerd

import (
	"github.com/podrun/podrun/daemon/sandbox"
	"github.com/podrun/podrun/daemon/secopts"
	"github.com/podrun/podrun/daemon/volumes"
)

// The daemon wires these packages in; their method sets must stay those
// the runtime depends on.
var (
	_ SandboxManager       = (*sandbox.Manager)(nil)
	_ VolumeManager        = (*volumes.Manager)(nil)
	_ ObjectSource         = (volumes.ObjectSource)(nil)
	_ volumes.ObjectSource = (ObjectSource)(nil)
	_ SecurityOpts         = secopts.SpecOpts
	_ SecurityOpts         = secopts.Config{}.SpecOpts
)
