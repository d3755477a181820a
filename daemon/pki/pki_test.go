package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

func load(t *testing.T, dir string, now time.Time) *Authority {
	t.Helper()
	a, err := Load(dir, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestLoadCreatesOnceAndKeeps: the first Load makes a P-256 CA valid for
// ten years with private modes; the next one uses the same CA.
func TestLoadCreatesOnceAndKeeps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	now := time.Now()
	a := load(t, dir, now)
	if !a.Cert.IsCA || a.Cert.PublicKeyAlgorithm != x509.ECDSA || a.Cert.NotAfter.Before(now.Add(CAValidity-time.Hour)) {
		t.Errorf("CA: isCA %v alg %v notAfter %v", a.Cert.IsCA, a.Cert.PublicKeyAlgorithm, a.Cert.NotAfter)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, caKeyFile): 0o600, filepath.Join(dir, caCertFile): 0o644} {
		if got := mode(t, path); got != want {
			t.Errorf("%s mode %04o, want %04o", path, got, want)
		}
	}
	if b := load(t, dir, now); !b.Cert.Equal(a.Cert) {
		t.Error("a second Load made a new CA")
	}
}

// TestRefusesExposedKeys is the attack: a key file others can read, a
// key directory others can enter, or a key that is a symbolic link to a
// file of someone else's choosing is refused, not used.
func TestRefusesExposedKeys(t *testing.T) {
	for name, spoil := range map[string]func(t *testing.T, dir string){
		"group-readable key": func(t *testing.T, dir string) { chmod(t, filepath.Join(dir, caKeyFile), 0o640) },
		"world-readable key": func(t *testing.T, dir string) { chmod(t, filepath.Join(dir, caKeyFile), 0o604) },
		"open directory":     func(t *testing.T, dir string) { chmod(t, dir, 0o755) },
		"symlinked key": func(t *testing.T, dir string) {
			other := filepath.Join(t.TempDir(), "key")
			data, _ := os.ReadFile(filepath.Join(dir, caKeyFile))
			if err := os.WriteFile(other, data, 0o600); err != nil {
				t.Fatal(err)
			}
			_ = os.Remove(filepath.Join(dir, caKeyFile))
			if err := os.Symlink(other, filepath.Join(dir, caKeyFile)); err != nil {
				t.Fatal(err)
			}
		},
		"key of another user": func(t *testing.T, dir string) {
			if err := os.Chown(filepath.Join(dir, caKeyFile), 65534, 65534); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "pki")
			load(t, dir, time.Now())
			spoil(t, dir)
			_, err := Load(dir, nil)
			if err == nil || !strings.Contains(err.Error(), "refusing") {
				t.Fatalf("Load after %s: %v, want a refusal", name, err)
			}
		})
	}
}

func chmod(t *testing.T, path string, m os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, m); err != nil {
		t.Fatal(err)
	}
}

// TestServingRenewal: the serving certificate is kept while it has more
// than RenewBefore left and covers the hosts asked for, and replaced on
// the start after that, or when a host is new.
func TestServingRenewal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	now := time.Now()
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	first, err := load(t, dir, now).ServingCertificate(hosts)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if got := mode(t, filepath.Join(dir, servingKeyFile)); got != 0o600 {
		t.Errorf("serving key mode %04o", got)
	}
	same, _ := load(t, dir, now.Add(ServingValidity-RenewBefore-24*time.Hour)).ServingCertificate(hosts)
	if !same.Leaf.Equal(first.Leaf) {
		t.Error("renewed a certificate with more than RenewBefore left")
	}
	renewed, _ := load(t, dir, now.Add(ServingValidity-RenewBefore+time.Hour)).ServingCertificate(hosts)
	if renewed.Leaf.Equal(first.Leaf) || !renewed.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Error("kept a certificate inside the renewal margin")
	}
	wider, _ := load(t, dir, now).ServingCertificate(append(hosts, "192.0.2.7"))
	if err := wider.Leaf.VerifyHostname("192.0.2.7"); err != nil {
		t.Errorf("a new listen address was not added: %v", err)
	}
}

// TestClientCertificateAuth serves TLS with the CA's configuration: no
// certificate and a certificate of another CA fail the handshake; a
// certificate from the kubeconfig gets 200.
func TestClientCertificateAuth(t *testing.T) {
	a := load(t, filepath.Join(t.TempDir(), "pki"), time.Now())
	serving, err := a.ServingCertificate([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", a.ServerTLS(serving))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	url := "https://" + ln.Addr().String() + "/"
	roots := x509.NewCertPool()
	roots.AddCert(a.Cert)
	get := func(certs ...tls.Certificate) (string, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
		resp, err := c.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), nil
	}
	if _, err := get(); err == nil {
		t.Error("a client without a certificate was served")
	}
	other := load(t, filepath.Join(t.TempDir(), "other"), time.Now())
	certPEM, keyPEM, _ := other.ClientCertificate(AdminUser, []string{AdminGroup})
	foreign, _ := tls.X509KeyPair(certPEM, keyPEM)
	if _, err := get(foreign); err == nil {
		t.Error("a certificate of another CA was accepted")
	}

	kc, err := a.Kubeconfig("https://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(kc)
	if err != nil {
		t.Fatal(err)
	}
	user := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo]
	good, err := tls.X509KeyPair(user.ClientCertificateData, user.ClientKeyData)
	if err != nil {
		t.Fatal(err)
	}
	if body, err := get(good); err != nil || body != AdminUser {
		t.Fatalf("kubeconfig certificate: %q %v", body, err)
	}
	block, _ := pem.Decode(user.ClientCertificateData)
	leaf, _ := x509.ParseCertificate(block.Bytes)
	if leaf.Subject.Organization[0] != AdminGroup || leaf.NotAfter.Sub(leaf.NotBefore) < ClientValidity {
		t.Errorf("client certificate %v valid %v", leaf.Subject, leaf.NotAfter.Sub(leaf.NotBefore))
	}
}

func TestServerURLAndHosts(t *testing.T) {
	for listen, want := range map[string]string{":6443": "https://127.0.0.1:6443",
		"0.0.0.0:6443": "https://127.0.0.1:6443", "[::]:6443": "https://127.0.0.1:6443",
		"192.0.2.7:6443": "https://192.0.2.7:6443", "[2001:db8::1]:443": "https://[2001:db8::1]:443"} {
		if got, err := ServerURL(listen); err != nil || got != want {
			t.Errorf("ServerURL(%q) = %q %v, want %q", listen, got, err, want)
		}
	}
	hosts := ServingHosts("192.0.2.7:6443")
	if hosts[len(hosts)-1] != "192.0.2.7" || net.ParseIP(hosts[1]) == nil {
		t.Errorf("hosts %v", hosts)
	}
	// Every address: the host's own global addresses are named too.
	all := ServingHosts(":6443")
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() && !slices.Contains(all, n.IP.String()) {
			t.Errorf("hosts of :6443 %v lack %s", all, n.IP)
		}
	}
	if slices.Contains(all, "") || slices.Contains(all, "0.0.0.0") {
		t.Errorf("hosts of :6443 %v name the unspecified address", all)
	}
}
