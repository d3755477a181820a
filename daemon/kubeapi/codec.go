package kubeapi

import (
	"bytes"
	"fmt"

	"github.com/podrun/podrun/daemon/openapi"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

// protobufSerializer is apimachinery's, over the served kinds: the
// format client-go's typed clients send by default.
var protobufSerializer = protobuf.NewSerializer(openapi.Scheme, openapi.Scheme)

var jsonSerializer = json.NewSerializerWithOptions(json.DefaultMetaFactory, openapi.Scheme, openapi.Scheme,
	json.SerializerOptions{})

// EncodeProtobuf is obj in the API server's protobuf envelope; obj must
// carry its apiVersion and kind.
func EncodeProtobuf(obj runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	if err := protobufSerializer.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ProtobufToJSON decodes a protobuf request body (one object of a served
// kind) and gives it back as JSON, so that it goes through the same
// strict decoding, defaulting and validation as a JSON body. Malformed
// input is an error, never a panic (the decoder is fuzzed).
func ProtobufToJSON(data []byte) (out []byte, err error) {
	defer func() {
		// The generated unmarshallers index slices by lengths read from
		// the input; a crafted body must not take the daemon down.
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("malformed protobuf body: %v", v)
		}
	}()
	obj, gvk, err := protobufSerializer.Decode(data, nil, nil)
	if err != nil {
		return nil, err
	}
	// The envelope names the kind; the decoded object does not carry it.
	obj.GetObjectKind().SetGroupVersionKind(*gvk)
	var buf bytes.Buffer
	if err := jsonSerializer.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
