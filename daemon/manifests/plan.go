package manifests

import (
	"crypto/sha256"
	"sort"
)

// Plan is what one pass does, computed from the files as read, the
// objects the store says files own, and the digests of the files as last
// applied. It is a pure function's result, unit-tested without podrund.
type Plan struct {
	// Apply is in boot order: ConfigMaps and Secrets first (pods mount
	// them), then everything else; within each, file and document order.
	Apply []Doc
	// From is the file of each key in Apply.
	From map[Key]string
	// Delete are owned objects whose file, or whose document in the file,
	// is gone. Objects of a file that cannot be read are kept.
	Delete []Owned
	// Conflicts are documents that name an object an earlier file (in
	// lexical order) or an earlier document already defines.
	Conflicts []Conflict
	// Unchanged are files whose content was applied before and whose
	// objects are all still theirs: nothing to do.
	Unchanged []string
}

// Owned is a stored object and the manifest file it carries in its
// annotation.
type Owned struct {
	Key  Key
	File string
}

// Conflict is a document that loses to another definition of its object.
type Conflict struct {
	Key           Key
	Winner, Loser string
}

// plan compares the files with the store. applied maps a file to the
// digest of its content as last applied in full.
func plan(files []File, owned []Owned, applied map[string][sha256.Size]byte) Plan {
	owner := make(map[Key]string, len(owned))
	for _, o := range owned {
		owner[o.Key] = o.File
	}
	p := Plan{From: map[Key]string{}}
	broken := map[string]bool{}
	var first, rest []Doc
	for _, f := range files {
		if f.Err != nil {
			broken[f.Path] = true
			continue
		}
		sum, seen := applied[f.Path]
		unchanged := seen && sum == f.Sum
		var mine []Doc
		for _, d := range f.Docs {
			if w, dup := p.From[d.Key]; dup {
				p.Conflicts = append(p.Conflicts, Conflict{Key: d.Key, Winner: w, Loser: f.Path})
				continue
			}
			p.From[d.Key] = f.Path
			if owner[d.Key] != f.Path {
				unchanged = false
			}
			mine = append(mine, d)
		}
		if unchanged {
			p.Unchanged = append(p.Unchanged, f.Path)
			continue
		}
		for _, d := range mine {
			if isSource(d.Key) {
				first = append(first, d)
			} else {
				rest = append(rest, d)
			}
		}
	}
	p.Apply = append(first, rest...)
	for _, o := range owned {
		if _, wanted := p.From[o.Key]; !wanted && !broken[o.File] {
			p.Delete = append(p.Delete, o)
		}
	}
	// Pods before what they mount, the reverse of the boot order.
	sort.SliceStable(p.Delete, func(i, j int) bool { return !isSource(p.Delete[i].Key) && isSource(p.Delete[j].Key) })
	return p
}

func isSource(k Key) bool { return k.Kind == "ConfigMap" || k.Kind == "Secret" }
