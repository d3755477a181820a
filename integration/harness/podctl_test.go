package harness

import (
	"slices"
	"testing"
)

const podTable = `NAME   READY   STATUS    RESTARTS   AGE
flip   0/1     Running   0          5s
flip   1/1     Running   0          9s
web    1/1     Running   2          1m
`

func TestTableRow(t *testing.T) {
	if got := TableRow(podTable, "web"); !slices.Equal(got, []string{"web", "1/1", "Running", "2", "1m"}) {
		t.Errorf("TableRow(web) = %q", got)
	}
	if got := TableRow(podTable, "flip"); len(got) < 2 || got[1] != "0/1" {
		t.Errorf("TableRow(flip) = %q, want the first flip row", got)
	}
	if got := TableRow(podTable, "we"); got != nil {
		t.Errorf("TableRow of a name prefix = %q, want nil", got)
	}
}

func TestTableHasRow(t *testing.T) {
	for _, tc := range []struct {
		name string
		cols []string
		want bool
	}{
		{"flip", []string{"1/1"}, true}, // the second flip row
		{"flip", []string{"1/1", "9s"}, true},
		{"flip", []string{"0/1", "9s"}, false}, // columns of two rows
		{"web", []string{"Running", "2"}, true},
		{"web", []string{"Run"}, false},
		{"nope", nil, false},
	} {
		if got := TableHasRow(podTable, tc.name, tc.cols...); got != tc.want {
			t.Errorf("TableHasRow(%s, %q) = %v, want %v", tc.name, tc.cols, got, tc.want)
		}
	}
}
