// Command probeserver is the only program of the "noshell" test image: a
// static HTTP, TCP and gRPC-health server that probe and hook tests aim at.
//
//	GET /healthz          200 while healthy, 500 otherwise
//	GET /set?healthy=BOOL changes the health (also flips gRPC SERVING/NOT_SERVING)
//	GET /status/CODE      answers CODE
//	GET /redirect?to=URL  302 to URL
//
// It logs every request to stdout and exits 0 on SIGTERM after -term-delay.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	httpAddr := flag.String("http", ":8080", "HTTP listen address")
	grpcAddr := flag.String("grpc", ":9090", "gRPC health listen address")
	unhealthy := flag.Bool("unhealthy", false, "start unhealthy")
	termDelay := flag.Duration("term-delay", 0, "delay between SIGTERM and exit")
	flag.Parse()

	var healthy atomic.Bool
	healthy.Store(!*unhealthy)
	hs := health.NewServer()
	setHealth := func(ok bool) {
		healthy.Store(ok)
		st := healthpb.HealthCheckResponse_SERVING
		if !ok {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		hs.SetServingStatus("", st)
	}
	setHealth(!*unhealthy)

	go serveGRPC(*grpcAddr, hs)
	go serveHTTP(*httpAddr, &healthy, setHealth)
	fmt.Println("probeserver listening", *httpAddr, *grpcAddr)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	fmt.Println("probeserver got", s)
	time.Sleep(*termDelay)
	fmt.Println("probeserver exiting")
}

func serveGRPC(addr string, hs *health.Server) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "grpc listen:", err)
		os.Exit(2)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	if err := srv.Serve(l); err != nil {
		fmt.Fprintln(os.Stderr, "grpc serve:", err)
		os.Exit(2)
	}
}

func serveHTTP(addr string, healthy *atomic.Bool, setHealth func(bool)) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		ok, err := strconv.ParseBool(r.URL.Query().Get("healthy"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		setHealth(ok)
		fmt.Fprintln(w, "healthy", ok)
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil || code < 100 || code > 999 {
			http.Error(w, "bad code", http.StatusBadRequest)
			return
		}
		w.WriteHeader(code)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("request", r.Method, r.URL.Path)
		mux.ServeHTTP(w, r)
	})
	if err := http.ListenAndServe(addr, logged); err != nil {
		fmt.Fprintln(os.Stderr, "http serve:", err)
		os.Exit(2)
	}
}
