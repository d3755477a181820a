package app

import (
	"github.com/podrun/podrun/daemon/config"
	"github.com/podrun/podrun/daemon/secopts"
	"github.com/podrun/podrun/daemon/volumes"
)

// policy converts the config file's policy; none configured (nil) admits
// everything, as the kubelet does (only root can reach the socket).
func policy(p *config.Policy) (*secopts.Policy, error) {
	if p == nil {
		return nil, nil
	}
	hostPaths := make([]secopts.HostPathPrefix, len(p.AllowedHostPaths))
	for i, h := range p.AllowedHostPaths {
		hostPaths[i] = secopts.HostPathPrefix(h)
	}
	return secopts.NewPolicy(secopts.PolicyConfig{Level: p.Level, Namespaces: p.Namespaces,
		AllowedHostPaths: hostPaths, AllowedUnsafeSysctls: p.AllowedUnsafeSysctls})
}

// hostPathPrefixes are the policy's allowed hostPath prefixes, below which
// the volume manager resolves hostPath volumes without following symlinks.
func hostPathPrefixes(p *config.Policy) []volumes.HostPathPrefix {
	if p == nil {
		return nil
	}
	out := make([]volumes.HostPathPrefix, 0, len(p.AllowedHostPaths))
	for _, prefix := range p.AllowedHostPaths {
		out = append(out, volumes.HostPathPrefix(prefix))
	}
	return out
}
