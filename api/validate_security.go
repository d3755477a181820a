package api

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateProfiles checks the seccomp and AppArmor profiles that pod and
// container security contexts both have, as the API server does: a known
// type, and a localhostProfile exactly when the type is Localhost.
func validateProfiles(seccomp *corev1.SeccompProfile, apparmor *corev1.AppArmorProfile, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sp := seccomp; sp != nil {
		p := fldPath.Child("seccompProfile")
		errs = append(errs, validateEnum(sp.Type, p.Child("type"),
			corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined)...)
		switch {
		case sp.Type == corev1.SeccompProfileTypeLocalhost && sp.LocalhostProfile == nil:
			errs = append(errs, field.Required(p.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
		case sp.Type == corev1.SeccompProfileTypeLocalhost:
			errs = append(errs, validateRelativePath(*sp.LocalhostProfile, p.Child("localhostProfile"), false)...)
		case sp.LocalhostProfile != nil:
			errs = append(errs, field.Invalid(p.Child("localhostProfile"), sp, "can only be set when seccomp type is Localhost"))
		}
	}
	if ap := apparmor; ap != nil {
		p := fldPath.Child("appArmorProfile")
		errs = append(errs, validateEnum(ap.Type, p.Child("type"),
			corev1.AppArmorProfileTypeLocalhost, corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined)...)
		local := ""
		if ap.LocalhostProfile != nil {
			local = *ap.LocalhostProfile
		}
		switch {
		case ap.Type == corev1.AppArmorProfileTypeLocalhost && strings.TrimSpace(local) == "":
			errs = append(errs, field.Required(p.Child("localhostProfile"), "must be set when AppArmor type is Localhost"))
		case ap.Type == corev1.AppArmorProfileTypeLocalhost && strings.TrimSpace(local) != local:
			errs = append(errs, field.Invalid(p.Child("localhostProfile"), local, "must not be padded with whitespace"))
		case ap.Type != corev1.AppArmorProfileTypeLocalhost && ap.LocalhostProfile != nil:
			errs = append(errs, field.Invalid(p.Child("localhostProfile"), local, "can only be set when AppArmor type is Localhost"))
		}
	}
	return errs
}
