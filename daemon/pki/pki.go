// Package pki is podrund's own certificate authority for the HTTPS
// listener (docs/contract.md §1 listenHTTPS): a CA made on first start, the
// serving certificate it signs (renewed on start before it runs out), and
// the client certificates podctl kubeconfig hands out. Every client of the
// HTTPS listener must present one of those; the unix socket needs none.
//
// The files live in one directory under --root so that they survive
// reboots: ca.crt, ca.key, serving.crt, serving.key. The directory is 0700
// and every key 0600; a key file that is group- or world-accessible or not
// owned by podrund's user is refused rather than used, since anyone who
// could read it could mint certificates for the whole API.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// Validity periods and the renewal margin.
const (
	CAValidity      = 10 * 365 * 24 * time.Hour
	ServingValidity = 365 * 24 * time.Hour
	ClientValidity  = 365 * 24 * time.Hour
	// RenewBefore is how long before its end a serving certificate is
	// replaced on start: a daemon restarted monthly never serves one that
	// runs out.
	RenewBefore = 30 * 24 * time.Hour
	// backdate covers clocks a little behind podrund's.
	backdate = 5 * time.Minute
)

// File names inside the directory.
const (
	caCertFile      = "ca.crt"
	caKeyFile       = "ca.key"
	servingCertFile = "serving.crt"
	servingKeyFile  = "serving.key"
)

// Authority is the CA: its certificate and key.
type Authority struct {
	dir  string
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// CertPEM is the CA certificate as clients put it in a kubeconfig.
	CertPEM []byte
	now     func() time.Time
}

// Load opens the CA in dir, making the directory and a new CA on first
// use. now is the clock (time.Now when nil).
func Load(dir string, now func() time.Time) (*Authority, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: create %s: %w", dir, err)
	}
	if err := checkPrivate(dir, true); err != nil {
		return nil, err
	}
	a := &Authority{dir: dir, now: now}
	certPEM, key, err := readPair(dir, caCertFile, caKeyFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if certPEM, key, err = a.createCA(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", filepath.Join(dir, caCertFile), err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("pki: %s is not a CA certificate", filepath.Join(dir, caCertFile))
	}
	a.Cert, a.key, a.CertPEM = cert, key, certPEM
	return a, nil
}

func (a *Authority) createCA() ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := a.template(pkix.Name{CommonName: "podrun-ca"}, CAValidity)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: create CA: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writePair(a.dir, caCertFile, caKeyFile, certPEM, key); err != nil {
		return nil, nil, err
	}
	return certPEM, key, nil
}

func (a *Authority) template(subject pkix.Name, validity time.Duration) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	now := a.now()
	return &x509.Certificate{SerialNumber: serial, Subject: subject,
		NotBefore: now.Add(-backdate), NotAfter: now.Add(validity)}
}

// issue signs a certificate for pub.
func (a *Authority) issue(tmpl *x509.Certificate, pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, pub, a.key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign %s: %w", tmpl.Subject.CommonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// ServingCertificate returns the listener's certificate for hosts (names
// and IP addresses), reusing the stored one while it was signed by this
// CA, covers every host and has more than RenewBefore left; otherwise a
// new one is issued and stored.
func (a *Authority) ServingCertificate(hosts []string) (tls.Certificate, error) {
	certPEM, key, err := readPair(a.dir, servingCertFile, servingKeyFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return tls.Certificate{}, err
	}
	if err == nil {
		if cert, perr := parseCert(certPEM); perr == nil && a.stillGood(cert, hosts) {
			return tlsCert(certPEM, cert, key), nil
		}
	}
	if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return tls.Certificate{}, err
	}
	tmpl := a.template(pkix.Name{CommonName: "podrund"}, ServingValidity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if certPEM, err = a.issue(tmpl, &key.PublicKey); err != nil {
		return tls.Certificate{}, err
	}
	if err := writePair(a.dir, servingCertFile, servingKeyFile, certPEM, key); err != nil {
		return tls.Certificate{}, err
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tlsCert(certPEM, cert, key), nil
}

// stillGood: signed by this CA, valid for more than RenewBefore, and
// naming every host.
func (a *Authority) stillGood(cert *x509.Certificate, hosts []string) bool {
	if cert.CheckSignatureFrom(a.Cert) != nil || a.now().Add(RenewBefore).After(cert.NotAfter) ||
		a.now().Before(cert.NotBefore) {
		return false
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(cert.DNSNames, h) {
			return false
		}
	}
	return true
}

func tlsCert(certPEM []byte, cert *x509.Certificate, key *ecdsa.PrivateKey) tls.Certificate {
	block, _ := pem.Decode(certPEM)
	return tls.Certificate{Certificate: [][]byte{block.Bytes}, PrivateKey: key, Leaf: cert}
}

// ClientCertificate issues a client certificate (PEM certificate and key)
// for user cn in groups orgs, valid for ClientValidity. The key is only
// returned, never stored.
func (a *Authority) ClientCertificate(cn string, orgs []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := a.template(pkix.Name{CommonName: cn, Organization: orgs}, ClientValidity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if certPEM, err = a.issue(tmpl, &key.PublicKey); err != nil {
		return nil, nil, err
	}
	if keyPEM, err = encodeKey(key); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// ServerTLS is the listener's TLS configuration: the serving certificate,
// and a client certificate signed by this CA required of every client
// before a single byte of HTTP. HTTP/1.1 only: exec, attach and
// port-forward upgrade the connection, which HTTP/2 cannot.
func (a *Authority) ServerTLS(serving tls.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(a.Cert)
	return &tls.Config{
		Certificates: []tls.Certificate{serving},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
}

func parseCert(certPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// readPair reads a certificate and its key, refusing a key file others
// could read. os.ErrNotExist when either is missing.
func readPair(dir, certName, keyName string) ([]byte, *ecdsa.PrivateKey, error) {
	keyPath := filepath.Join(dir, keyName)
	if err := checkPrivate(keyPath, false); err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, certName))
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, nil, fmt.Errorf("pki: %s holds no PEM key", keyPath)
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %s: %w", keyPath, err)
	}
	return certPEM, key, nil
}

// checkPrivate refuses a path (the directory or a key file) that is a
// symlink, not owned by this process's user, or accessible to group or
// others. A missing file is os.ErrNotExist.
func checkPrivate(path string, isDir bool) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("pki: refusing %s: it is a symbolic link", path)
	case isDir != fi.IsDir():
		return fmt.Errorf("pki: refusing %s: not a %s", path, map[bool]string{true: "directory", false: "regular file"}[isDir])
	case !ok || int(st.Uid) != os.Geteuid():
		return fmt.Errorf("pki: refusing %s: it must be owned by uid %d", path, os.Geteuid())
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("pki: refusing %s: mode %04o lets group or others in; it must be %04o",
			path, fi.Mode().Perm(), map[bool]os.FileMode{true: 0o700, false: 0o600}[isDir])
	}
	return nil
}

// writePair stores a certificate (0644) and its key (0600), each through
// a temporary file and a rename so that a crash leaves the old pair or
// the new one.
func writePair(dir, certName, keyName string, certPEM []byte, key *ecdsa.PrivateKey) error {
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, keyName), keyPEM, 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, certName), certPEM, 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	_, werr := f.Write(data)
	if serr := f.Sync(); werr == nil {
		werr = serr
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("pki: write %s: %w", path, werr)
	}
	return nil
}
