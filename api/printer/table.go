package printer

import (
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TableOf is objs (all of one kind) as the API server's meta.k8s.io/v1
// Table, built from the same columns podctl prints: every column, the
// -o wide ones at priority 1 (kubectl hides them unless -o wide), one row
// per object with the wide form of each cell, integers as integers. The
// caller sets each row's Object and the list metadata. An empty objs
// needs sample, an object of the kind, for the columns.
func TableOf(objs []any, sample any, now time.Time) (*metav1.Table, error) {
	if len(objs) > 0 {
		sample = objs[0]
	}
	cols, err := columnsFor(sample)
	if err != nil {
		return nil, err
	}
	t := &metav1.Table{
		TypeMeta:          metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"},
		ColumnDefinitions: cols.defs,
		Rows:              make([]metav1.TableRow, 0, len(objs)),
	}
	for _, o := range objs {
		cells := cols.row(o, now, true)
		row := metav1.TableRow{Cells: make([]any, len(cells))}
		for i, c := range cells {
			row.Cells[i] = c
			if cols.defs[i].Type == "integer" {
				if n, err := strconv.ParseInt(c, 10, 64); err == nil {
					row.Cells[i] = n
				}
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// HasTable reports whether objects like obj have a table.
func HasTable(obj any) bool {
	_, err := columnsFor(obj)
	return err == nil
}
