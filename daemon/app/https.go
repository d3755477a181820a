package app

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/podrun/podrun/daemon/pki"
)

// https is the listenHTTPS side: the TLS configuration of podrund's own
// CA (daemon/pki) and the kubeconfig issuer the API serves.
type https struct {
	addr string
	tls  *tls.Config
	ca   *pki.Authority
}

// pkiDir keeps the CA under --root so that issued kubeconfigs stay valid
// across reboots.
func pkiDir(root string) string { return filepath.Join(root, "pki") }

// newHTTPS loads or makes the CA and the serving certificate (renewed here,
// on start, before it runs out). nil without listenHTTPS.
func newHTTPS(addr, root string, log *zap.Logger) (*https, error) {
	if addr == "" {
		return nil, nil
	}
	ca, err := pki.Load(pkiDir(root), nil)
	if err != nil {
		return nil, fmt.Errorf("listenHTTPS: %w", err)
	}
	serving, err := ca.ServingCertificate(pki.ServingHosts(addr))
	if err != nil {
		return nil, fmt.Errorf("listenHTTPS: %w", err)
	}
	log.Info("HTTPS listener certificate", zap.Strings("names", serving.Leaf.DNSNames),
		zap.Time("notAfter", serving.Leaf.NotAfter))
	return &https{addr: addr, tls: ca.ServerTLS(serving), ca: ca}, nil
}

// kubeconfig is server.Options.Kubeconfig; nil without a listener.
func (h *https) kubeconfig() func(server string) ([]byte, error) {
	if h == nil {
		return nil
	}
	return func(server string) ([]byte, error) {
		if server == "" {
			var err error
			if server, err = pki.ServerURL(h.addr); err != nil {
				return nil, err
			}
		}
		return h.ca.Kubeconfig(server)
	}
}

// listen opens the TLS listener: every connection must complete a
// handshake with a client certificate of the CA before any HTTP is read.
func (h *https) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		return nil, fmt.Errorf("listenHTTPS: %w", err)
	}
	return tls.NewListener(ln, h.tls), nil
}
