package api

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestValidateConfigMap(t *testing.T) {
	ok := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"a.conf": "x", "B_2-c": "y"}}
	checkErrs(t, ValidateConfigMap(ok), nil)

	bad := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "Cfg"},
		Data:       map[string]string{"a/b": "x", "dup": "1", "..": "z"},
		BinaryData: map[string][]byte{"dup": []byte("2")}}
	checkErrs(t, ValidateConfigMap(bad), []string{
		`metadata.name: Invalid value: "Cfg": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		`data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
		`data[..]: Invalid value: "..": must not be '..'`,
		`data[dup]: Invalid value: "dup": duplicate of key present in binaryData`,
	})

	big := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "big"}, Data: map[string]string{"k": strings.Repeat("x", 1<<20)}}
	checkErrs(t, ValidateConfigMap(big), []string{`[]: Too long: may not be more than 1048576 bytes`})
}

func TestValidateSecret(t *testing.T) {
	tests := []struct {
		name string
		s    corev1.Secret
		want []string
	}{
		{"opaque", corev1.Secret{StringData: map[string]string{"password": "x"}}, nil},
		{"bad key", corev1.Secret{Data: map[string][]byte{"a b": nil}}, []string{
			`data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`}},
		{"tls needs cert and key", corev1.Secret{Type: corev1.SecretTypeTLS}, []string{
			`data[tls.crt]: Required value`, `data[tls.key]: Required value`}},
		{"basic-auth needs username or password", corev1.Secret{Type: corev1.SecretTypeBasicAuth}, []string{
			`data[username]: Required value`, `data[password]: Required value`}},
		{"basic-auth with a password", corev1.Secret{Type: corev1.SecretTypeBasicAuth, StringData: map[string]string{"password": "p"}}, nil},
		{"dockerconfigjson must be JSON", corev1.Secret{Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{".dockerconfigjson": []byte("{")}}, []string{
			`data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": unexpected end of JSON input`}},
		{"ssh-auth", corev1.Secret{Type: corev1.SecretTypeSSHAuth}, []string{`data[ssh-privatekey]: Required value`}},
		{"service account token", corev1.Secret{Type: corev1.SecretTypeServiceAccountToken}, []string{
			`metadata.annotations[kubernetes.io/service-account.name]: Required value`}},
		{"any custom type, as the API server", corev1.Secret{Type: "my type"}, nil},
		{"too large", corev1.Secret{Data: map[string][]byte{"k": make([]byte, 1<<20+1)}}, []string{
			`data: Too long: may not be more than 1048576 bytes`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s.DeepCopy()
			s.Name = "s"
			DefaultSecret(s)
			checkErrs(t, ValidateSecret(s), tc.want)
		})
	}
}

// PUT over a stored ConfigMap or Secret, as the API server judges it.
func TestValidateConfigUpdates(t *testing.T) {
	immutable := func(data map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "default"}, Immutable: ptr.To(true), Data: data}
	}
	old := immutable(map[string]string{"k": "v"})
	checkErrs(t, ValidateConfigMapUpdate(immutable(map[string]string{"k": "v"}), old), nil)
	changed := immutable(map[string]string{"k": "w"})
	changed.Immutable = nil
	checkErrs(t, ValidateConfigMapUpdate(changed, old), []string{
		"immutable: Forbidden: field is immutable when `immutable` is set",
		"data: Forbidden: field is immutable when `immutable` is set",
	})
	mutable := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	checkErrs(t, ValidateConfigMapUpdate(changed, mutable), nil)

	sec := func(typ corev1.SecretType, immutable bool, v string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"}, Type: typ,
			Immutable: ptr.To(immutable), Data: map[string][]byte{"k": []byte(v)}}
	}
	checkErrs(t, ValidateSecretUpdate(sec("example.com/b", false, "w"), sec(corev1.SecretTypeOpaque, false, "v")), []string{
		`type: Invalid value: "example.com/b": field is immutable`})
	checkErrs(t, ValidateSecretUpdate(sec(corev1.SecretTypeOpaque, true, "w"), sec(corev1.SecretTypeOpaque, true, "v")), []string{
		"data: Forbidden: field is immutable when `immutable` is set"})
	if err := ValidateUpdate(immutable(nil), old); err == nil || AsStatusError(err).Code() != 422 {
		t.Fatalf("ValidateUpdate = %v, want a 422", err)
	}
}
