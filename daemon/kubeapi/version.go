package kubeapi

import (
	"fmt"
	"regexp"
	goruntime "runtime"
	"strings"

	"k8s.io/apimachinery/pkg/version"
)

// KubernetesVersion is the Kubernetes release whose API podrund serves:
// the k8s.io/api types it is built with (v0.37.2 is Kubernetes v1.37.2).
const KubernetesVersion = "v1.37.2"

// notBuildMetadata are the characters semver build metadata cannot hold.
var (
	notBuildMetadata = regexp.MustCompile(`[^0-9A-Za-z-.]+`)
	emptyIdentifiers = regexp.MustCompile(`\.\.+`)
)

// VersionInfo is GET /version in the API server's shape. gitVersion is
// KubernetesVersion with podrun's own version as semver build metadata
// (v1.37.2+podrun.v0.4.1), as k3s does: kubectl parses it as release
// 1.37.2 for its version skew warning, and a person still sees which
// podrund answered.
func VersionInfo(podrunVersion, gitCommit string) version.Info {
	major, minor := majorMinor(KubernetesVersion)
	meta := notBuildMetadata.ReplaceAllString(podrunVersion, "-")
	meta = strings.Trim(emptyIdentifiers.ReplaceAllString(meta, "."), ".")
	if meta == "" {
		meta = "dev"
	}
	return version.Info{
		Major:        major,
		Minor:        minor,
		GitVersion:   KubernetesVersion + "+podrun." + meta,
		GitCommit:    gitCommit,
		GitTreeState: "clean",
		GoVersion:    goruntime.Version(),
		Compiler:     goruntime.Compiler,
		Platform:     fmt.Sprintf("%s/%s", goruntime.GOOS, goruntime.GOARCH),
	}
}

func majorMinor(v string) (string, string) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	return parts[0], parts[1]
}
