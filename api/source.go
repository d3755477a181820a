package api

// ManifestFileAnnotation marks an object that podrund applied from a file
// of its manifest directory; the value is the file's absolute path
// (contract §3). The file owns the object: an API write to it needs
// ?force=true (podctl --force), and the object goes when the file, or its
// document in the file, goes.
const ManifestFileAnnotation = "podrun.io/manifest-file"

// ManifestFile is the manifest file that owns an object with these
// annotations, "" when none does.
func ManifestFile(annotations map[string]string) string {
	return annotations[ManifestFileAnnotation]
}
