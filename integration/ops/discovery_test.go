package ops

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/podrun/podrun/daemon/openapi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
)

// TestRealClientsReadTheAPI: a real podrund answers what kubectl and
// client-go read before they touch an object (discovery, OpenAPI,
// version), takes a protobuf body from client-go's REST client and
// answers kubectl get's Table request, all over the socket.
func TestRealClientsReadTheAPI(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	cfg := &rest.Config{Host: "http://podrund", Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", c.Daemon.Socket)
	}}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	info, err := dc.ServerVersion()
	if err != nil || info.Major != "1" || info.Minor != "37" || !strings.Contains(info.GitVersion, "+podrun.") {
		t.Fatalf("version %+v: %v", info, err)
	}
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, l := range lists {
		for _, r := range l.APIResources {
			served[l.GroupVersion+"/"+r.Name] = true
		}
	}
	for _, want := range []string{"v1/pods", "v1/pods/log", "v1/configmaps", "v1/secrets", "v1/events",
		"v1/namespaces", "batch/v1/jobs"} {
		if !served[want] {
			t.Errorf("discovery lacks %s: %v", want, served)
		}
	}
	doc, err := openapi3.NewRoot(dc.OpenAPIV3()).GVSpec(schema.GroupVersion{Version: "v1"})
	if err != nil || doc.Components.Schemas["io.k8s.api.core.v1.PodSpec"] == nil {
		t.Fatalf("openapi v3 api/v1: %v", err)
	}
	if v2, err := dc.OpenAPISchema(); err != nil || len(v2.GetDefinitions().GetAdditionalProperties()) < 100 {
		t.Fatalf("openapi v2: %v", err)
	}

	// client-go's typed clients send protobuf.
	cfg.APIPath, cfg.GroupVersion = "/api", &corev1.SchemeGroupVersion
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(openapi.Scheme).WithoutConversion()
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "from-protobuf"}, Data: map[string]string{"a": "1"}}
	created := &corev1.ConfigMap{}
	if err := rc.Post().Namespace(c.NS).Resource("configmaps").Body(cm).Do(context.Background()).Into(created); err != nil {
		t.Fatalf("create over protobuf: %v", err)
	}
	if created.UID == "" || created.Data["a"] != "1" {
		t.Errorf("created %+v", created)
	}

	// kubectl get's Table.
	req, _ := http.NewRequest("GET", "http://podrund/api/v1/namespaces/"+c.NS+"/configmaps", nil)
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	resp, err := (&http.Client{Transport: &http.Transport{DialContext: cfg.Dial}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var table metav1.Table
	if err := json.NewDecoder(resp.Body).Decode(&table); err != nil || table.Kind != "Table" {
		t.Fatalf("table: %v %+v", err, table)
	}
	if len(table.Rows) != 1 || table.Rows[0].Cells[0] != "from-protobuf" || table.Rows[0].Cells[1] != float64(1) {
		t.Errorf("table rows %+v", table.Rows)
	}
}
