package crilog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLayoutPaths(t *testing.T) {
	p := Pod{Namespace: "ns", Name: "web", UID: "uid-1"}
	root := "/var/lib/podrund"
	if got, want := Path(root, p, "app", 2), "/var/lib/podrund/logs/ns_web_uid-1/app/2.log"; got != want {
		t.Errorf("Path = %s, want %s", got, want)
	}
	if got, want := ContainerDir(root, p, "app"), "/var/lib/podrund/logs/ns_web_uid-1/app"; got != want {
		t.Errorf("ContainerDir = %s, want %s", got, want)
	}
	if got, ok := ParsePodDir(filepath.Base(PodDir(root, p))); !ok || got != p {
		t.Errorf("ParsePodDir(PodDir) = %+v, %v; want %+v", got, ok, p)
	}
	for _, bad := range []string{"ns_web", "ns_web_", "a_b_c_d", "lost+found"} {
		if got, ok := ParsePodDir(bad); ok {
			t.Errorf("ParsePodDir(%q) = %+v, want refused", bad, got)
		}
	}
}

// The reader's file order is the writer's rotation order: oldest first,
// the live file last, whatever else lies beside them left out.
func TestFilesFollowRotation(t *testing.T) {
	l, path := openTemp(t, 60, 4)
	for i := range 4 {
		if err := l.Write("stdout", false, []byte(strings.Repeat(string(rune('a'+i)), 10))); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	for _, junk := range []string{path + ".tmp", path + ".0", path + ".-1"} {
		os.WriteFile(junk, nil, 0o644)
	}
	files := Files(path)
	want := []string{path + ".3", path + ".2", path + ".1", path}
	if strings.Join(files, ",") != strings.Join(want, ",") {
		t.Fatalf("Files = %q, want %q", files, want)
	}
	for i, f := range files {
		recs := readRecords(t, f)
		if len(recs) != 1 || recs[0][2] != strings.Repeat(string(rune('a'+i)), 10) {
			t.Fatalf("%s holds %q, want the %d-th record", f, recs, i)
		}
	}
}

func TestRemoveTakesRotatedFilesWithTheLiveOne(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	other := filepath.Join(dir, "1.log")
	for _, p := range []string{path, path + ".1", path + ".2", other, other + ".1"} {
		os.WriteFile(p, []byte("x"), 0o644)
	}
	Remove(path)
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if strings.Join(left, ",") != other+","+other+".1" {
		t.Fatalf("left %q, want only the other attempt's files", left)
	}
	Remove(path) // nothing there: no error, nothing else touched
	if left2, _ := filepath.Glob(filepath.Join(dir, "*")); len(left2) != 2 {
		t.Fatalf("second removal touched %q", left2)
	}
}
