// Package manifest applies Kubernetes manifests (multi-document YAML or JSON) with
// server-side apply, as `kubectl apply --server-side` does.
package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Apply server-side-applies every object of manifest as fieldOwner, putting namespaced
// objects that name no namespace into namespace, and returns the objects as sent.
func Apply(ctx context.Context, c client.Client, fieldOwner, namespace string, manifest []byte) ([]*unstructured.Unstructured, error) {
	objs, err := Decode(manifest)
	if err != nil {
		return nil, err
	}
	for _, obj := range objs {
		namespaced, err := c.IsObjectNamespaced(obj)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		if namespaced && obj.GetNamespace() == "" {
			obj.SetNamespace(namespace)
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
			return nil, fmt.Errorf("applying %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	return objs, nil
}

// Decode splits a multi-document YAML or JSON stream into objects, skipping empty documents.
func Decode(manifest []byte) ([]*unstructured.Unstructured, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	var objs []*unstructured.Unstructured
	for {
		var content map[string]any
		if err := decoder.Decode(&content); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, fmt.Errorf("decoding manifest: %w", err)
		}
		if len(content) == 0 { // an empty document, e.g. after a trailing "---"
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: content})
	}
}
