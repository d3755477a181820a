package manifests

import (
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"
)

func TestPlan(t *testing.T) {
	pod := func(n string) Doc { return Doc{Key: Key{"Pod", "default", n}} }
	cm := func(n string) Doc { return Doc{Key: Key{"ConfigMap", "default", n}} }
	sum := func(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }
	file := func(path, content string, docs ...Doc) File { return File{Path: path, Sum: sum(content), Docs: docs} }
	own := func(d Doc, f string) Owned { return Owned{Key: d.Key, File: f} }
	keys := func(docs []Doc) []Key {
		var out []Key
		for _, d := range docs {
			out = append(out, d.Key)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		files     []File
		owned     []Owned
		applied   map[string][sha256.Size]byte
		apply     []Key
		del       []Owned
		conflicts []Conflict
		unchanged []string
	}{
		{name: "new files: sources first, then pods, each in file order",
			files: []File{file("/m/a.yaml", "a", pod("web"), cm("web-conf")), file("/m/b.yaml", "b", pod("db"), cm("db-conf"))},
			apply: []Key{cm("web-conf").Key, cm("db-conf").Key, pod("web").Key, pod("db").Key}},
		{name: "an unchanged file whose objects are its own is left alone",
			files:     []File{file("/m/a.yaml", "a", pod("web"))},
			owned:     []Owned{own(pod("web"), "/m/a.yaml")},
			applied:   map[string][sha256.Size]byte{"/m/a.yaml": sum("a")},
			unchanged: []string{"/m/a.yaml"}},
		{name: "an unchanged file whose object was taken from it is applied again",
			files:   []File{file("/m/a.yaml", "a", pod("web"))},
			applied: map[string][sha256.Size]byte{"/m/a.yaml": sum("a")},
			apply:   []Key{pod("web").Key}},
		{name: "a changed file is applied",
			files:   []File{file("/m/a.yaml", "a2", pod("web"))},
			owned:   []Owned{own(pod("web"), "/m/a.yaml")},
			applied: map[string][sha256.Size]byte{"/m/a.yaml": sum("a")},
			apply:   []Key{pod("web").Key}},
		{name: "a removed file's objects go, pods before what they mount",
			owned: []Owned{own(cm("conf"), "/m/a.yaml"), own(pod("web"), "/m/a.yaml")},
			del:   []Owned{own(pod("web"), "/m/a.yaml"), own(cm("conf"), "/m/a.yaml")}},
		{name: "a removed document's object goes, the rest stays",
			files: []File{file("/m/a.yaml", "a2", pod("web"))},
			owned: []Owned{own(pod("web"), "/m/a.yaml"), own(pod("old"), "/m/a.yaml")},
			apply: []Key{pod("web").Key},
			del:   []Owned{own(pod("old"), "/m/a.yaml")}},
		{name: "a broken file keeps what it created",
			files: []File{{Path: "/m/a.yaml", Err: errors.New("yaml: line 3")}},
			owned: []Owned{own(pod("web"), "/m/a.yaml")}},
		{name: "the first file in lexical order wins an object",
			files:     []File{file("/m/a.yaml", "a", pod("web")), file("/m/b.yaml", "b", pod("web"), pod("db"))},
			apply:     []Key{pod("web").Key, pod("db").Key},
			conflicts: []Conflict{{Key: pod("web").Key, Winner: "/m/a.yaml", Loser: "/m/b.yaml"}}},
		{name: "an object moved to another file is taken over, not deleted",
			files: []File{file("/m/b.yaml", "b", pod("web"))},
			owned: []Owned{own(pod("web"), "/m/a.yaml")},
			apply: []Key{pod("web").Key}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(tc.files, tc.owned, tc.applied)
			if got := keys(p.Apply); !reflect.DeepEqual(got, tc.apply) {
				t.Errorf("apply %v, want %v", got, tc.apply)
			}
			if !reflect.DeepEqual(p.Delete, tc.del) {
				t.Errorf("delete %v, want %v", p.Delete, tc.del)
			}
			if !reflect.DeepEqual(p.Conflicts, tc.conflicts) {
				t.Errorf("conflicts %v, want %v", p.Conflicts, tc.conflicts)
			}
			if !reflect.DeepEqual(p.Unchanged, tc.unchanged) {
				t.Errorf("unchanged %v, want %v", p.Unchanged, tc.unchanged)
			}
		})
	}
}

func TestIsManifestName(t *testing.T) {
	for name, want := range map[string]bool{
		"web.yaml": true, "web.YML": true, "db.json": true,
		".web.yaml": false, ".web.yaml.swp": false, "web.yaml~": false, "#web.yaml#": false,
		"web.yaml.tmp": false, "web.txt": false, "README": false,
	} {
		if got := IsManifestName(name); got != want {
			t.Errorf("IsManifestName(%q) = %v, want %v", name, got, want)
		}
	}
}
