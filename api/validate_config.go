package api

import (
	"encoding/json"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateConfigMap: DNS-1123 subdomain name, valid keys, no key in both
// data and binaryData, total size at most 1 MiB.
func ValidateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	errs := validateObjectMeta(&cm.ObjectMeta, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	size := 0
	for k, v := range cm.Data {
		errs = append(errs, validateConfigKey(k, field.NewPath("data").Key(k))...)
		size += len(k) + len(v)
	}
	for k, v := range cm.BinaryData {
		errs = append(errs, validateConfigKey(k, field.NewPath("binaryData").Key(k))...)
		if _, dup := cm.Data[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(k), k, "duplicate of key present in binaryData"))
		}
		size += len(k) + len(v)
	}
	if size > corev1.MaxSecretSize { // MaxConfigMapSize is the same 1 MiB
		// The API server names no field for a ConfigMap over the limit.
		errs = append(errs, field.TooLong(field.NewPath(""), "", corev1.MaxSecretSize))
	}
	return errs
}

// ValidateSecret: name, keys, size, and the keys each built-in type requires.
// Expects DefaultSecret first (stringData merged into data).
func ValidateSecret(s *corev1.Secret) field.ErrorList {
	errs := validateObjectMeta(&s.ObjectMeta, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	dataPath := field.NewPath("data")
	size := 0
	for k, v := range s.Data {
		errs = append(errs, validateConfigKey(k, dataPath.Key(k))...)
		size += len(v)
	}
	for k := range s.StringData {
		errs = append(errs, validateConfigKey(k, field.NewPath("stringData").Key(k))...)
	}
	if size > corev1.MaxSecretSize {
		errs = append(errs, field.TooLong(dataPath, "", corev1.MaxSecretSize))
	}
	return append(errs, validateSecretType(s, dataPath)...)
}

func validateSecretType(s *corev1.Secret, dataPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	require := func(key string) {
		if _, ok := s.Data[key]; !ok {
			errs = append(errs, field.Required(dataPath.Key(key), ""))
		}
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		require(corev1.DockerConfigKey)
		errs = append(errs, validateJSONKey(s.Data, corev1.DockerConfigKey, dataPath)...)
	case corev1.SecretTypeDockerConfigJson:
		require(corev1.DockerConfigJsonKey)
		errs = append(errs, validateJSONKey(s.Data, corev1.DockerConfigJsonKey, dataPath)...)
	case corev1.SecretTypeBasicAuth:
		_, user := s.Data[corev1.BasicAuthUsernameKey]
		_, pass := s.Data[corev1.BasicAuthPasswordKey]
		if !user && !pass {
			errs = append(errs, field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""))
			errs = append(errs, field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		require(corev1.TLSCertKey)
		require(corev1.TLSPrivateKeyKey)
	}
	// Any other type is the user's own: the API server accepts every
	// string there (defaulting made an empty one Opaque).
	return errs
}

func validateJSONKey(data map[string][]byte, key string, dataPath *field.Path) field.ErrorList {
	v, ok := data[key]
	if !ok {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil {
		return field.ErrorList{field.Invalid(dataPath.Key(key), "<secret contents redacted>", err.Error())}
	}
	return nil
}

func validateConfigKey(k string, p *field.Path) field.ErrorList {
	return invalidEach(p, k, validation.IsConfigMapKey(k))
}

// immutableWhenSet is the API server's refusal to change a ConfigMap's
// or Secret's field once the object is immutable.
const immutableWhenSet = "field is immutable when `immutable` is set"

// validateImmutableData refuses, as the API server does, a change to an
// immutable object: unsetting immutable, or changing one of its data
// fields (named by path, new and old value).
func validateImmutableData(oldImmutable, newImmutable *bool, fields ...immutableField) field.ErrorList {
	if oldImmutable == nil || !*oldImmutable {
		return nil
	}
	var errs field.ErrorList
	if newImmutable == nil || !*newImmutable {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableWhenSet))
	}
	for _, f := range fields {
		if !reflect.DeepEqual(f.next, f.old) {
			errs = append(errs, field.Forbidden(field.NewPath(f.name), immutableWhenSet))
		}
	}
	return errs
}

type immutableField struct {
	name      string
	next, old any
}

// ValidateConfigMapUpdate checks a PUT of a ConfigMap against the stored
// one as the API server does: an immutable one keeps immutable, data and
// binaryData.
func ValidateConfigMapUpdate(next, old *corev1.ConfigMap) field.ErrorList {
	errs := validateImmutableData(old.Immutable, next.Immutable,
		immutableField{"data", next.Data, old.Data}, immutableField{"binaryData", next.BinaryData, old.BinaryData})
	return append(errs, ValidateConfigMap(next)...)
}

// ValidateSecretUpdate checks a PUT of a Secret against the stored one as
// the API server does: the type never changes; an immutable one keeps
// immutable and data (stringData is already folded into data).
func ValidateSecretUpdate(next, old *corev1.Secret) field.ErrorList {
	errs := apivalidation.ValidateImmutableField(next.Type, old.Type, field.NewPath("type"))
	errs = append(errs, validateImmutableData(old.Immutable, next.Immutable, immutableField{"data", next.Data, old.Data})...)
	return append(errs, ValidateSecret(next)...)
}
