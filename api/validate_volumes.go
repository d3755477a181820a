package api

import (
	"path"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// volumeSources lists the json names of the set sources of a volume.
func volumeSources(s *corev1.VolumeSource) []string {
	var set []string
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			set = append(set, name)
		}
	}
	return set
}

func countVolumeSources(s *corev1.VolumeSource) int { return len(volumeSources(s)) }

// podrunVolumeSources are the sources the volumes package can provide on
// one host; others (network and cloud disks, PVCs) are refused at
// admission instead of failing at container creation.
func podrunVolumeSources() sets.Set[string] {
	return sets.New("emptyDir", "hostPath", "configMap", "secret", "projected", "downwardAPI")
}

// validateVolumes returns the declared volume names and every problem:
// names are unique DNS-1123 labels, each volume has exactly one source.
// As in the API server, a volume with an error declares no name (a mount
// of it is also NotFound), unless the error is only that podrun does not
// run its type: the API server would have declared it.
func validateVolumes(vols []corev1.Volume, fldPath *field.Path) (sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	supported := podrunVolumeSources()
	for i := range vols {
		v := &vols[i]
		p := fldPath.Index(i)
		var el field.ErrorList
		switch {
		case v.Name == "":
			el = append(el, field.Required(p.Child("name"), ""))
		case names.Has(v.Name):
			el = append(el, field.Duplicate(p.Child("name"), v.Name))
		default:
			el = append(el, validateDNSLabel(v.Name, p.Child("name"))...)
		}
		srcs := volumeSources(&v.VolumeSource)
		sortAsAPIServer(srcs)
		switch {
		case len(srcs) == 0:
			el = append(el, field.Required(p, "must specify a volume type"))
		case len(srcs) > 1:
			for _, s := range srcs[1:] {
				el = append(el, field.Forbidden(p.Child(apiServerSourceName(s)), "may not specify more than 1 volume type"))
			}
		case !supported.Has(srcs[0]):
			errs = append(errs, notRunError(p.Child(srcs[0]), notRunVolume))
		}
		el = append(el, validateVolumeSource(&v.VolumeSource, p)...)
		if !hasRunnableError(el) {
			names.Insert(v.Name)
		}
		errs = append(errs, el...)
	}
	return names, errs
}

func validateVolumeSource(s *corev1.VolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if e := s.EmptyDir; e != nil {
		switch e.Medium {
		case corev1.StorageMediumDefault, corev1.StorageMediumMemory:
		default:
			if !strings.HasPrefix(string(e.Medium), string(corev1.StorageMediumHugePages)) {
				errs = append(errs, field.NotSupported(p.Child("emptyDir", "medium"), e.Medium,
					[]corev1.StorageMedium{corev1.StorageMediumDefault, corev1.StorageMediumMemory, corev1.StorageMediumHugePages}))
			}
		}
		if e.SizeLimit != nil && e.SizeLimit.Sign() < 0 {
			errs = append(errs, field.Invalid(p.Child("emptyDir", "sizeLimit"), e.SizeLimit.String(), "must be greater than or equal to 0"))
		}
	}
	if h := s.HostPath; h != nil {
		errs = append(errs, validateHostPath(h, p.Child("hostPath"))...)
	}
	if c := s.ConfigMap; c != nil {
		errs = append(errs, validateKeyedVolume(p.Child("configMap"), "name", c.Name, c.DefaultMode, c.Items)...)
	}
	if sec := s.Secret; sec != nil {
		errs = append(errs, validateKeyedVolume(p.Child("secret"), "secretName", sec.SecretName, sec.DefaultMode, sec.Items)...)
	}
	if d := s.DownwardAPI; d != nil {
		dp := p.Child("downwardAPI")
		errs = append(errs, validateMode(d.DefaultMode, dp.Child("defaultMode"))...)
		errs = append(errs, validateDownwardAPIItems(d.Items, dp)...)
	}
	if pr := s.Projected; pr != nil {
		errs = append(errs, validateProjected(pr, p.Child("projected"))...)
	}
	return errs
}

func validateHostPath(h *corev1.HostPathVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	} else {
		errs = append(errs, validateNoBacksteps(h.Path, p.Child("path"))...)
	}
	if h.Type != nil {
		supported := []corev1.HostPathType{corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory,
			corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev}
		ok := false
		for _, t := range supported {
			ok = ok || *h.Type == t
		}
		if !ok {
			errs = append(errs, field.NotSupported(p.Child("type"), *h.Type, supported))
		}
	}
	return errs
}

func validateMode(mode *int32, p *field.Path) field.ErrorList {
	if mode != nil && (*mode < 0 || *mode > 0o777) {
		return field.ErrorList{field.Invalid(p, *mode, "must be a number between 0 and 0777 (octal), both inclusive")}
	}
	return nil
}

// validateKeyedVolume checks what configMap and secret volumes share: the
// source's name (in the field nameField), the default mode and the items.
func validateKeyedVolume(p *field.Path, nameField, name string, mode *int32, items []corev1.KeyToPath) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child(nameField), ""))
	}
	errs = append(errs, validateMode(mode, p.Child("defaultMode"))...)
	return append(errs, validateKeyToPaths(items, p.Child("items"))...)
}

func validateKeyToPaths(items []corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, it := range items {
		p := fldPath.Index(i)
		errs = append(errs, requiredValid(p.Child("key"), it.Key, validation.IsConfigMapKey)...)
		errs = append(errs, validateLocalNonReservedPath(it.Path, p.Child("path"))...)
		errs = append(errs, validateMode(it.Mode, p.Child("mode"))...)
	}
	return errs
}

// validateDownwardAPIItems checks the items of a downwardAPI volume or
// projection at fldPath. The API server names each item's errors below
// the source itself (downwardAPI.fieldRef.fieldPath, no items[i]): the
// same paths here.
func validateDownwardAPIItems(items []corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, it := range items {
		p := fldPath
		errs = append(errs, validateLocalNonReservedPath(it.Path, p.Child("path"))...)
		errs = append(errs, validateMode(it.Mode, p.Child("mode"))...)
		switch {
		case it.FieldRef != nil && it.ResourceFieldRef != nil:
			errs = append(errs, field.Invalid(p, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		case it.FieldRef != nil:
			errs = append(errs, validateObjectFieldSelector(it.FieldRef, volumeFieldPaths(), p.Child("fieldRef"))...)
		case it.ResourceFieldRef != nil:
			if it.ResourceFieldRef.ContainerName == "" {
				errs = append(errs, field.Required(p.Child("resourceFieldRef", "containerName"), ""))
			}
			errs = append(errs, validateResourceFieldSelector(it.ResourceFieldRef, p.Child("resourceFieldRef"))...)
		default:
			errs = append(errs, field.Required(p, "one of fieldRef and resourceFieldRef is required"))
		}
	}
	return errs
}

func validateProjected(pr *corev1.ProjectedVolumeSource, p *field.Path) field.ErrorList {
	errs := validateMode(pr.DefaultMode, p.Child("defaultMode"))
	for i, src := range pr.Sources {
		sp := p.Child("sources").Index(i)
		n := 0
		if src.ConfigMap != nil {
			n++
			if src.ConfigMap.Name == "" {
				errs = append(errs, field.Required(sp.Child("configMap", "name"), ""))
			}
			errs = append(errs, validateKeyToPaths(src.ConfigMap.Items, sp.Child("configMap", "items"))...)
		}
		if src.Secret != nil {
			n++
			if src.Secret.Name == "" {
				errs = append(errs, field.Required(sp.Child("secret", "name"), ""))
			}
			errs = append(errs, validateKeyToPaths(src.Secret.Items, sp.Child("secret", "items"))...)
		}
		if src.DownwardAPI != nil {
			n++
			errs = append(errs, validateDownwardAPIItems(src.DownwardAPI.Items, sp.Child("downwardAPI"))...)
		}
		for name, set := range map[string]bool{"serviceAccountToken": src.ServiceAccountToken != nil,
			"clusterTrustBundle": src.ClusterTrustBundle != nil, "podCertificate": src.PodCertificate != nil} {
			if set {
				n++
				errs = append(errs, notRunError(sp.Child(name), notRunProjection))
			}
		}
		// An empty source projects nothing; the API server accepts it.
		if n > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

// validateVolumeMounts: each mount names a declared volume, mountPath is
// absolute and unique within the container, subPath is relative without "..",
// and Bidirectional propagation is for privileged containers only: a mount
// an unprivileged container makes must never propagate to the host.
func validateVolumeMounts(mounts []corev1.VolumeMount, volumes sets.Set[string], privileged bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := sets.New[string]()
	for i, m := range mounts {
		p := fldPath.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else if !volumes.Has(m.Name) {
			errs = append(errs, field.NotFound(p.Child("name"), m.Name))
		}
		switch {
		case m.MountPath == "":
			errs = append(errs, field.Required(p.Child("mountPath"), ""))
		case paths.Has(path.Clean(m.MountPath)):
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be unique"))
		case !path.IsAbs(m.MountPath):
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be an absolute path"))
		}
		paths.Insert(path.Clean(m.MountPath))
		if m.SubPath != "" && m.SubPathExpr != "" {
			errs = append(errs, field.Invalid(p.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
		}
		// The API server names subPath errors below the list, not the
		// mount (volumeMounts.subPath): the same paths here.
		if m.SubPath != "" {
			errs = append(errs, validateRelativePath(m.SubPath, fldPath.Child("subPath"), false)...)
		}
		if m.SubPathExpr != "" {
			errs = append(errs, validateRelativePath(m.SubPathExpr, fldPath.Child("subPathExpr"), false)...)
		}
		if mp := m.MountPropagation; mp != nil {
			switch *mp {
			case corev1.MountPropagationNone, corev1.MountPropagationHostToContainer, corev1.MountPropagationBidirectional:
			default:
				errs = append(errs, field.NotSupported(p.Child("mountPropagation"), *mp, []corev1.MountPropagationMode{
					corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone}))
			}
			if *mp == corev1.MountPropagationBidirectional && !privileged {
				errs = append(errs, field.Forbidden(p.Child("mountPropagation"),
					"Bidirectional mount propagation is available only to privileged containers"))
			}
		}
	}
	return errs
}

// validateRelativePath is the API server's validateLocalDescendingPath.
func validateRelativePath(p string, fldPath *field.Path, required bool) field.ErrorList {
	if p == "" {
		if required {
			return field.ErrorList{field.Required(fldPath, "")}
		}
		return nil
	}
	var errs field.ErrorList
	if path.IsAbs(p) {
		errs = append(errs, field.Invalid(fldPath, p, "must be a relative path"))
	}
	return append(errs, validateNoBacksteps(p, fldPath)...)
}

// validateLocalNonReservedPath is the API server's check of an item path
// of a configMap, secret, downwardAPI or projected volume: required,
// relative, without "..", and not starting with ".." either, since the
// atomic writer keeps its own "..data" link and "..<timestamp>" payload
// directories beside the items ("..data/x" would write into them).
func validateLocalNonReservedPath(p string, fldPath *field.Path) field.ErrorList {
	errs := validateRelativePath(p, fldPath, true)
	// The ".." element check already reported "../x".
	if strings.HasPrefix(p, "..") && !strings.HasPrefix(p, "../") {
		errs = append(errs, field.Invalid(fldPath, p, "must not start with '..'"))
	}
	return errs
}

func validateNoBacksteps(p string, fldPath *field.Path) field.ErrorList {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(fldPath, p, "must not contain '..'")}
		}
	}
	return nil
}

// apiServerVolumeOrder is the order in which the API server looks at a
// volume's sources: the first one set is the volume's, each later one is
// "more than 1 volume type".
var apiServerVolumeOrder = []string{"emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore",
	"secret", "nfs", "iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "cinder", "cephfs", "quobyte",
	"downwardAPI", "fc", "flexVolume", "configMap", "azureFile", "vsphereVolume", "photonPersistentDisk",
	"portworxVolume", "azureDisk", "storageos", "projected", "scaleIO", "csi", "ephemeral", "image"}

// sortAsAPIServer orders json names of volume sources as the API server
// looks at them.
func sortAsAPIServer(srcs []string) {
	rank := func(s string) int {
		if i := slices.Index(apiServerVolumeOrder, s); i >= 0 {
			return i
		}
		return len(apiServerVolumeOrder)
	}
	slices.SortStableFunc(srcs, func(a, b string) int { return rank(a) - rank(b) })
}

// apiServerSourceName is the name the API server gives a second volume
// source in its path: two differ from the json name (sic).
func apiServerSourceName(s string) string {
	switch s {
	case "cephfs":
		return "cephFS"
	case "downwardAPI":
		return "downwarAPI"
	}
	return s
}
