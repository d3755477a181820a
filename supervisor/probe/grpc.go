package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	corev1 "k8s.io/api/core/v1"
)

// grpcProbe calls the standard health service (grpc.health.v1.Health/Check)
// at the pod IP; SERVING is success (R41). Outputs use the kubelet's wording.
func grpcProbe(ctx context.Context, t *target, a *corev1.GRPCAction, timeout time.Duration) outcome {
	addr := net.JoinHostPort(podIP(t.pod), strconv.Itoa(int(a.Port)))
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent(probeUserAgent),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return t.prober.Dial(ctx, t.pod, "tcp", addr)
		}),
	)
	if err != nil {
		return outcome{result: results.Failure, output: fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err)}
	}
	defer func() { _ = conn.Close() }()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	service := ""
	if a.Service != nil {
		service = *a.Service
	}
	resp, err := healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		if ctx.Err() != nil {
			return outcome{err: fmt.Errorf("grpc probe %s: %w", addr, ctx.Err())}
		}
		return outcome{result: results.Failure, output: grpcFailure(err, timeout)}
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return outcome{result: results.Failure, output: fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String())}
	}
	return outcome{result: results.Success, output: "service healthy"}
}

func grpcFailure(err error, timeout time.Duration) string {
	st, ok := status.FromError(err)
	switch {
	case ok && st.Code() == codes.Unimplemented:
		return "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): " + st.Message()
	case ok && st.Code() == codes.DeadlineExceeded, errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("timeout: health rpc did not complete within %v", timeout)
	}
	return fmt.Sprintf("error: health rpc probe failed: %+v", err)
}
