package api

import "testing"

func TestExpandLikeKubelet(t *testing.T) {
	lookup := MapLookup(map[string]string{"A": "1", "B": "two", "EMPTY": "", "NS": "default", "POD": "p1"})
	for _, tc := range []struct{ in, want string }{
		{"$(A)", "1"},
		{"x$(A)y$(B)z", "x1ytwoz"},
		{"$(EMPTY)", ""},
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"$$(A)", "$(A)"},        // $$ escapes
		{"$$$(A)", "$1"},         // escaped $ then a reference
		{"$$$$", "$$"},           // two escapes
		{"$A", "$A"},             // only $(...) is a reference
		{"$(A", "$(A"},           // unterminated
		{"$(A$$(B)", "$(A$$(B)"}, // unterminated keeps the rest as written
		{"a$", "a$"},             // trailing $
		{"$()", "$()"},           // empty name is unknown
		{"100%", "100%"},
		{"logs/$(NS)/$(POD)", "logs/default/p1"}, // subPathExpr
		{"tail$(", "tail$("},
	} {
		if got := Expand(tc.in, lookup); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
