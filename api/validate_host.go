package api

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Values of these fields end up in files podrund writes for the pod
// (/etc/hosts, resolv.conf) or in sysctls containerd writes under
// /proc/sys, so they are checked as the API server checks them: a newline
// in any of them would add lines of the pod's choosing to those files.

// maxDNSSearchListChars is the API server's MaxDNSSearchListChars: the
// search list joined with spaces.
const maxDNSSearchListChars = 2048

// The API server's sysctl name grammar (SysctlContainSlashFmt): segments
// of lowercase alphanumerics with inner '-' and '_', separated by '.' or
// '/', at most sysctlMaxLength characters.
const (
	sysctlSegmentFmt      = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
	sysctlContainSlashFmt = "(" + sysctlSegmentFmt + "[\\./])*" + sysctlSegmentFmt
	sysctlMaxLength       = 253
)

var sysctlNameRegexp = regexp.MustCompile("^" + sysctlContainSlashFmt + "$")

// isValidSysctlName is the API server's IsValidSysctlName.
func isValidSysctlName(name string) bool {
	return len(name) <= sysctlMaxLength && sysctlNameRegexp.MatchString(name)
}

// validateSysctls is the API server's validateSysctls (required, name
// grammar, no duplicates). The API server leaves values alone; podrun
// refuses a value with a line break or NUL, as containerd writes the value
// to /proc/sys as given and the kernel would take only part of it.
func validateSysctls(sysctls []corev1.Sysctl, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, s := range sysctls {
		p := fldPath.Index(i)
		switch {
		case s.Name == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case !isValidSysctlName(s.Name):
			errs = append(errs, field.Invalid(p.Child("name"), s.Name,
				fmt.Sprintf("must have at most %d characters and match regex %s", sysctlMaxLength, sysctlContainSlashFmt)))
		case names.Has(s.Name):
			errs = append(errs, field.Duplicate(p.Child("name"), s.Name))
		}
		names.Insert(s.Name)
		if strings.ContainsAny(s.Value, "\n\r\x00") {
			errs = append(errs, field.Invalid(p.Child("value"), s.Value, "must not contain a line break or NUL character"))
		}
	}
	return errs
}

// validateHostAliases is the API server's ValidateHostAliases: each ip a
// valid IP address, each hostname a DNS-1123 subdomain.
func validateHostAliases(aliases []corev1.HostAlias, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, a := range aliases {
		p := fldPath.Index(i)
		errs = append(errs, validateLegacyIP(a.IP, p.Child("ip"))...)
		for j, h := range a.Hostnames {
			errs = append(errs, validateDNSSubdomain(h, p.Child("hostnames").Index(j))...)
		}
	}
	return errs
}

// validateLegacyIP is the API server's IsValidIPForLegacyField with strict
// validation (the StrictIPCIDRValidation gate on): no leading zeros, which
// libc reads as octal, and no IPv4-mapped IPv6 addresses.
func validateLegacyIP(ip string, fldPath *field.Path) field.ErrorList {
	return validation.IsValidIPForLegacyField(fldPath, ip, true, nil)
}

// validateDNSOption checks a dnsConfig option. The API server requires only
// the name; podrun also refuses a line break or NUL in the name or value,
// which would add lines to the pod's resolv.conf.
func validateDNSOption(o corev1.PodDNSConfigOption, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if o.Name == "" {
		errs = append(errs, field.Required(p, "must not be empty"))
	} else if strings.ContainsAny(o.Name, "\n\r\x00") {
		errs = append(errs, field.Invalid(p.Child("name"), o.Name, "must not contain a line break or NUL character"))
	}
	if o.Value != nil && strings.ContainsAny(*o.Value, "\n\r\x00") {
		errs = append(errs, field.Invalid(p.Child("value"), *o.Value, "must not contain a line break or NUL character"))
	}
	return errs
}
