package pull

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/podrun/podrun/integration/testimage"
)

// push builds the busybox test image and uploads it to r as repo:tag with
// the distribution API: a monolithic upload per blob (POST then PUT
// ?digest=) and a PUT of the manifest. It returns the image reference.
func (r *registry) push(t *testing.T, repo, tag string) string {
	t.Helper()
	ref := r.Host + "/" + repo + ":" + tag
	var buf bytes.Buffer
	if err := testimage.Write(&buf, testimage.Variant(ref)); err != nil {
		t.Fatalf("build test image: %v", err)
	}
	blobs, index, err := readLayout(&buf)
	if err != nil {
		t.Fatalf("read test image layout: %v", err)
	}
	mdesc := index.Manifests[0]
	mbytes := blobs[mdesc.Digest.String()]
	var m ocispec.Manifest
	if err := json.Unmarshal(mbytes, &m); err != nil {
		t.Fatalf("decode test image manifest: %v", err)
	}
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if err := r.pushBlob(t, repo, d.Digest.String(), blobs[d.Digest.String()]); err != nil {
			t.Fatalf("push blob %s to %s: %v", d.Digest, r.Host, err)
		}
	}
	u := fmt.Sprintf("http://%s/v2/%s/manifests/%s", r.Host, repo, tag)
	if _, err := r.do(t, http.MethodPut, u, mdesc.MediaType, mbytes, http.StatusCreated); err != nil {
		t.Fatalf("push manifest %s: %v", ref, err)
	}
	return ref
}

func (r *registry) pushBlob(t *testing.T, repo, digest string, data []byte) error {
	if data == nil {
		return errors.New("blob missing from the image layout")
	}
	resp, err := r.do(t, http.MethodPost, fmt.Sprintf("http://%s/v2/%s/blobs/uploads/", r.Host, repo), "", nil, http.StatusAccepted)
	if err != nil {
		return fmt.Errorf("start upload: %w", err)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return fmt.Errorf("upload location: %w", err)
	}
	// The Location may be relative and carries the upload state in its query.
	loc = (&url.URL{Scheme: "http", Host: r.Host}).ResolveReference(loc)
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	if _, err := r.do(t, http.MethodPut, loc.String(), "application/octet-stream", data, http.StatusCreated); err != nil {
		return fmt.Errorf("finish upload: %w", err)
	}
	return nil
}

// do sends one request (with basic auth when the registry has a user) and
// checks the status code.
func (r *registry) do(t *testing.T, method, u, contentType string, body []byte, want int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctxTimeout(t), method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if r.User != "" {
		req.SetBasicAuth(r.User, r.Pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s (want %d): %s", method, u, resp.Status, want, b)
	}
	return resp, nil
}

// readLayout reads an OCI image-layout tarball into its blobs (by digest)
// and index.
func readLayout(rd io.Reader) (map[string][]byte, ocispec.Index, error) {
	var index ocispec.Index
	blobs := map[string][]byte{}
	tr := tar.NewReader(rd)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, index, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, index, err
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch {
		case name == "index.json":
			if err := json.Unmarshal(data, &index); err != nil {
				return nil, index, fmt.Errorf("decode index.json: %w", err)
			}
		case strings.HasPrefix(name, "blobs/sha256/") && h.Typeflag == tar.TypeReg:
			blobs["sha256:"+strings.TrimPrefix(name, "blobs/sha256/")] = data
		}
	}
	if len(index.Manifests) == 0 {
		return nil, index, errors.New("index.json names no manifest")
	}
	return blobs, index, nil
}
