package app

import (
	"github.com/podrun/podrun/daemon/config"
	"github.com/podrun/podrun/daemon/secopts"
)

// policy converts the config file's policy; none configured (nil) admits
// everything, as the kubelet does (only root can reach the socket).
func policy(p *config.Policy) (*secopts.Policy, error) {
	if p == nil {
		return nil, nil
	}
	return secopts.NewPolicy(secopts.PolicyConfig{Level: p.Level, Namespaces: p.Namespaces,
		AllowedHostPaths: hostPathPrefixes(p), AllowedUnsafeSysctls: p.AllowedUnsafeSysctls})
}

// hostPathPrefixes are the policy's allowed hostPath prefixes: admission
// exempts hostPaths below them from the level's ban, and the volume
// manager resolves those paths beneath them without following symlinks.
func hostPathPrefixes(p *config.Policy) []secopts.HostPathPrefix {
	if p == nil {
		return nil
	}
	out := make([]secopts.HostPathPrefix, len(p.AllowedHostPaths))
	for i, h := range p.AllowedHostPaths {
		out[i] = secopts.HostPathPrefix(h)
	}
	return out
}
