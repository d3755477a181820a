package api

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// Unknown and duplicated fields under each fieldValidation directive, in
// YAML and JSON: Strict refuses naming each, Warn returns one warning
// each (the later of duplicated values wins), Ignore drops them.
func TestDecodeFieldValidation(t *testing.T) {
	yamlBody := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n  bogus: 1\ndata: {k: v}\n"
	jsonBody := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","name":"b","bogus":1},"data":{"k":"v"}}`
	cases := []struct {
		name     string
		body     string
		format   Format
		v        FieldValidation
		err      string
		warnings []string
	}{
		{"yaml strict", yamlBody, FormatYAML, FieldValidationStrict, `key "name" already set in map`, nil},
		{"yaml warn", yamlBody, FormatYAML, FieldValidationWarn, "",
			[]string{`line 5: key "name" already set in map`, `unknown field "metadata.bogus"`}},
		{"yaml ignore", yamlBody, FormatYAML, FieldValidationIgnore, "", nil},
		{"json strict", jsonBody, FormatJSON, FieldValidationStrict,
			`strict decoding error: duplicate field "metadata.name", unknown field "metadata.bogus"`, nil},
		{"json warn", jsonBody, FormatJSON, FieldValidationWarn, "",
			[]string{`duplicate field "metadata.name"`, `unknown field "metadata.bogus"`}},
		{"json ignore", jsonBody, FormatJSON, FieldValidationIgnore, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj, warnings, err := DecodeObjectWith([]byte(tc.body), tc.format, tc.v)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || AsStatusError(err).Code() != 400 {
					t.Fatalf("err = %v, want a 400 with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cm := obj.(*corev1.ConfigMap); cm.Name != "b" || cm.Data["k"] != "v" {
				t.Fatalf("decoded %+v, want the later name and the data", cm)
			}
			if strings.Join(warnings, "|") != strings.Join(tc.warnings, "|") {
				t.Fatalf("warnings %q, want %q", warnings, tc.warnings)
			}
		})
	}
}

// The fieldValidation query parameter: absent is Warn, the three
// directives are read as spelled, anything else is a 422 on the options.
func TestParseFieldValidation(t *testing.T) {
	for in, want := range map[string]FieldValidation{"": FieldValidationWarn, "Strict": FieldValidationStrict,
		"Warn": FieldValidationWarn, "Ignore": FieldValidationIgnore} {
		if got, err := ParseFieldValidation(in, "CreateOptions"); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	_, err := ParseFieldValidation("warn", "UpdateOptions")
	se := AsStatusError(err)
	if se.Code() != 422 || !strings.Contains(se.Error(), `UpdateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "warn"`) ||
		se.ErrStatus.Details.Causes[0].Field != "fieldValidation" {
		t.Fatalf("err = %v", err)
	}
}
