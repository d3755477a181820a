package server

import (
	"errors"
	"net/http"
	"net/url"

	"go.uber.org/zap"

	"github.com/podrun/podrun/api"
)

// kubeconfig serves POST /podrun/v1/kubeconfig[?server=https://HOST:PORT]:
// a kubeconfig with a fresh admin client certificate for the HTTPS
// listener (docs/contract.md §3). Only over the unix socket: who may
// mint certificates is who may open the socket (root or socketGroup), not
// whoever holds one already.
func (s *Server) kubeconfig(w http.ResponseWriter, r *http.Request) {
	if r.TLS != nil {
		s.writeError(w, api.NewForbidden("kubeconfig", "", errors.New("kubeconfigs are only issued over podrund's unix socket")))
		return
	}
	if s.o.Kubeconfig == nil {
		s.writeError(w, api.NewBadRequest("podrund serves no HTTPS listener: set listenHTTPS in its config file "+
			"or start it with --listen-https HOST:PORT"))
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.writeError(w, api.NewBadRequest("malformed query: "+err.Error()))
		return
	}
	server := q.Get("server")
	if server != "" {
		if u, err := url.Parse(server); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			s.writeError(w, api.NewBadRequest("server="+server+": must be an https://HOST[:PORT] URL"))
			return
		}
	}
	data, err := s.o.Kubeconfig(server)
	if err != nil {
		s.writeError(w, err)
		return
	}
	// The body holds a private key: never cached, never logged.
	s.log.Info("issued an admin client certificate (podctl kubeconfig)", zap.String("server", server))
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}
