package pki

import (
	"fmt"
	"net"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The identity podctl kubeconfig hands out: the API server's conventional
// cluster administrator (group system:masters).
const (
	AdminUser  = "podrun-admin"
	AdminGroup = "system:masters"
)

// ServingHosts are the names and addresses the serving certificate covers
// for a listener on listen (HOST:PORT): the loopback names, this host's
// name, and HOST when it is a specific address, else (":6443", every
// address) the host's global unicast addresses, so that kubectl on
// another machine can verify the certificate by address too.
func ServingHosts(listen string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if name, err := os.Hostname(); err == nil && name != "" && name != "localhost" {
		hosts = append(hosts, name)
	}
	h, _, err := net.SplitHostPort(listen)
	if err != nil || h == "localhost" {
		return hosts
	}
	if ip := net.ParseIP(h); h != "" && (ip == nil || !ip.IsUnspecified()) {
		if ip == nil || !ip.IsLoopback() {
			hosts = append(hosts, h)
		}
		return hosts
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() {
			hosts = append(hosts, n.IP.String())
		}
	}
	return hosts
}

// ServerURL is the address a kubeconfig names for a listener on listen:
// 127.0.0.1 in place of an unspecified host (":6443", "0.0.0.0:6443").
func ServerURL(listen string) (string, error) {
	h, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listenHTTPS %q: %w", listen, err)
	}
	if ip := net.ParseIP(h); h == "" || ip != nil && ip.IsUnspecified() {
		h = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(h, port), nil
}

// Kubeconfig issues a fresh admin client certificate and returns a
// kubeconfig (YAML) that reaches server with it and trusts this CA.
func (a *Authority) Kubeconfig(server string) ([]byte, error) {
	certPEM, keyPEM, err := a.ClientCertificate(AdminUser, []string{AdminGroup})
	if err != nil {
		return nil, err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["podrun"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: a.CertPEM}
	cfg.AuthInfos[AdminUser] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts["podrun"] = &clientcmdapi.Context{Cluster: "podrun", AuthInfo: AdminUser, Namespace: "default"}
	cfg.CurrentContext = "podrun"
	return clientcmd.Write(*cfg)
}
