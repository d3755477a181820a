package api

import (
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// NotRunField is a pod spec field that the API server accepts and podrun
// refuses, because one node without a cluster around it cannot do what
// the field asks: refused with a 422 that names the field and says "not
// supported by podrun", never accepted and silently dropped.
type NotRunField struct {
	// Path is the field below a pod spec, every list index written
	// [*]: "volumes[*].nfs".
	Path string
	// Reason says why podrun cannot run it.
	Reason string
}

// NotRun is every field podrun does not run. README.md's "Where podrun
// differs from the API server" lists each (a test keeps the two
// together), and the differential test against the API server's own
// validation counts a refusal at one of these paths as expected.
var NotRun = []NotRunField{
	{"volumes[*].awsElasticBlockStore", notRunVolume},
	{"volumes[*].azureDisk", notRunVolume},
	{"volumes[*].azureFile", notRunVolume},
	{"volumes[*].cephfs", notRunVolume},
	{"volumes[*].cinder", notRunVolume},
	{"volumes[*].csi", notRunVolume},
	{"volumes[*].ephemeral", notRunVolume},
	{"volumes[*].fc", notRunVolume},
	{"volumes[*].flexVolume", notRunVolume},
	{"volumes[*].flocker", notRunVolume},
	{"volumes[*].gcePersistentDisk", notRunVolume},
	{"volumes[*].gitRepo", notRunVolume},
	{"volumes[*].glusterfs", notRunVolume},
	{"volumes[*].image", notRunVolume},
	{"volumes[*].iscsi", notRunVolume},
	{"volumes[*].nfs", notRunVolume},
	{"volumes[*].persistentVolumeClaim", notRunVolume},
	{"volumes[*].photonPersistentDisk", notRunVolume},
	{"volumes[*].portworxVolume", notRunVolume},
	{"volumes[*].quobyte", notRunVolume},
	{"volumes[*].rbd", notRunVolume},
	{"volumes[*].scaleIO", notRunVolume},
	{"volumes[*].storageos", notRunVolume},
	{"volumes[*].vsphereVolume", notRunVolume},
	{"volumes[*].projected.sources[*].serviceAccountToken", notRunProjection},
	{"volumes[*].projected.sources[*].clusterTrustBundle", notRunProjection},
	{"volumes[*].projected.sources[*].podCertificate", notRunProjection},
	{"volumes[*].emptyDir.medium", "podrun provides emptyDir on disk, in memory (Memory) and on huge pages (HugePages, HugePages-<size>) only"},
	{"containers[*].workingDir", notRunRelative},
	{"initContainers[*].workingDir", notRunRelative},
	{"containers[*].volumeMounts[*].mountPath", notRunRelative},
	{"initContainers[*].volumeMounts[*].mountPath", notRunRelative},
	{"nodeName", "podrun runs pods on this node only: a nodeName must be this host's name"},
	{"schedulingGates", notRunGates},
	{"resourceClaims", notRunClaims},
	{"containers[*].restartPolicyRules[*].action", notRunRestartAll},
	{"initContainers[*].restartPolicyRules[*].action", notRunRestartAll},
	{"containers[*].volumeDevices", notRunBlock},
	{"initContainers[*].volumeDevices", notRunBlock},
	{"containers[*].env[*].valueFrom.fileKeyRef", notRunFileKey},
	{"initContainers[*].env[*].valueFrom.fileKeyRef", notRunFileKey},
	{"containers[*].resources.claims", notRunClaims},
	{"initContainers[*].resources.claims", notRunClaims},
}

const (
	notRunVolume = "podrun provides emptyDir, hostPath, configMap, secret, projected and downwardAPI volumes on one host; " +
		"network, cloud and claim-backed volumes need a cluster's storage"
	notRunProjection = "podrun has no cluster to issue service account tokens, trust bundles or pod certificates"
	notRunRelative   = "podrun needs an absolute path here (the API server accepts a relative one, which the runtime then fails on or reads from /)"
	notRunGates      = "podrun has no scheduler to hold a pod back until its gates are removed; it would start at once"
	notRunRestartAll = "podrun restarts the container itself (Restart), not all of the pod's containers (RestartAllContainers)"
	notRunBlock      = "podrun has no block volumes"
	notRunClaims     = "podrun has no dynamic resource allocation"
	notRunFileKey    = "podrun does not read variables from a volume's file"
)

// notRunError is the refusal of a field podrun does not run.
func notRunError(path *field.Path, reason string) *field.Error {
	return field.Forbidden(path, "not supported by podrun: "+reason)
}

// podSpecPrefix is what comes before the pod spec in a field path of a
// Pod or of a Job's template.
var podSpecPrefix = regexp.MustCompile(`^spec\.(template\.spec\.)?`)

var listIndex = regexp.MustCompile(`\[[^\]]*\]`)

// NotRunReason says why podrun does not run the field at path (as a
// validation error names it: "spec.volumes[0].nfs" or
// "spec.template.spec.volumes[0].nfs"); ok is false for a field podrun
// runs.
func NotRunReason(path string) (reason string, ok bool) {
	rest := podSpecPrefix.ReplaceAllString(path, "")
	if rest == path {
		return "", false
	}
	rest = listIndex.ReplaceAllString(rest, "[*]")
	for _, f := range NotRun {
		if f.Path == rest || strings.HasPrefix(rest, f.Path+".") || strings.HasPrefix(rest, f.Path+"[") {
			return f.Reason, true
		}
	}
	return "", false
}

// hasRunnableError is whether errs has an error other than a field podrun
// does not run.
func hasRunnableError(errs field.ErrorList) bool {
	for _, e := range errs {
		if _, ok := NotRunReason(e.Field); !ok {
			return true
		}
	}
	return false
}

// isNotRunPath is whether path (below a pod spec, [*] for any index) is a
// row of NotRun.
func isNotRunPath(path string) bool {
	for _, f := range NotRun {
		if f.Path == path {
			return true
		}
	}
	return false
}
