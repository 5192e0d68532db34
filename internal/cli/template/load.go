package template

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"

	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// stdinName is the file name that means standard input, as in kubectl.
const stdinName = "-"

// fileExtensions are the files of a directory that are read, as kubectl reads them.
var fileExtensions = []string{".json", ".yaml", ".yml"}

// fileDecoder decodes what a template file may hold: Templates (template.openshift.io/v1,
// or the legacy `apiVersion: v1` of OpenShift 3 files), Lists of them, and the core kinds,
// so that a file holding something else is named for what it holds.
var fileDecoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, templatev1.Install, templatev1.DeprecatedInstallWithoutGroup} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(s).UniversalDeserializer()
}()

// readObjects reads every object of a template file, as `oc process -f` does: name is a
// file, a directory (its .json, .yaml and .yml files, not its subdirectories), an http(s)
// URL, or "-" for stdin; each holds JSON or YAML, one or several documents. Lists
// (`kind: List` as `kubectl get -o yaml` prints, or a TemplateList) are replaced by their
// items. Errors carry oc's prefix.
func readObjects(name string, stdin io.Reader) ([]runtime.Object, error) {
	objs, err := readSource(name, stdin)
	if err != nil {
		return nil, fmt.Errorf("failed to read input object (not a Template?): %w", err)
	}
	return objs, nil
}

func readSource(name string, stdin io.Reader) ([]runtime.Object, error) {
	if name == stdinName {
		return decodeStream(stdin, "STDIN")
	}
	if u, err := url.Parse(name); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return readURL(u.String())
	}
	info, err := os.Stat(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("the path %q does not exist", name)
	} else if err != nil {
		return nil, err
	}
	files := []string{name}
	if info.IsDir() {
		entries, err := os.ReadDir(name)
		if err != nil {
			return nil, err
		}
		files = nil
		for _, entry := range entries { // sorted by name, as kubectl walks a directory
			if !entry.IsDir() && slices.Contains(fileExtensions, filepath.Ext(entry.Name())) {
				files = append(files, filepath.Join(name, entry.Name()))
			}
		}
	}
	var objs []runtime.Object
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		fileObjs, err := decodeStream(f, file)
		f.Close()
		if err != nil {
			return nil, err
		}
		objs = append(objs, fileObjs...)
	}
	return objs, nil
}

func readURL(u string) ([]runtime.Object, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unable to read URL %q, server reported %s, status code=%d", u, resp.Status, resp.StatusCode)
	}
	return decodeStream(resp.Body, u)
}

// decodeStream decodes each JSON or YAML document of r, skipping empty ones, with
// kubectl's messages.
func decodeStream(r io.Reader, source string) ([]runtime.Object, error) {
	d := yaml.NewYAMLOrJSONDecoder(r, 4096)
	var objs []runtime.Object
	for {
		var doc runtime.RawExtension
		if err := d.Decode(&doc); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, fmt.Errorf("error parsing %s: %v", source, err)
		}
		data := bytes.TrimSpace(doc.Raw)
		if len(data) == 0 || bytes.Equal(data, []byte("null")) {
			continue
		}
		obj, err := decode(data, source)
		if err != nil {
			return nil, err
		}
		objs = append(objs, obj...)
	}
}

// decode decodes one document, replacing a list by its items.
func decode(data []byte, source string) ([]runtime.Object, error) {
	obj, _, err := fileDecoder.Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("unable to decode %q: %v", source, err)
	}
	switch list := obj.(type) {
	case *templatev1.TemplateList:
		objs := make([]runtime.Object, len(list.Items))
		for i := range list.Items {
			objs[i] = &list.Items[i]
		}
		return objs, nil
	case *corev1.List:
		var objs []runtime.Object
		for _, item := range list.Items {
			itemObjs, err := decode(item.Raw, source)
			if err != nil {
				return nil, err
			}
			objs = append(objs, itemObjs...)
		}
		return objs, nil
	}
	return []runtime.Object{obj}, nil
}

// firstTemplate returns the first object, which must be a Template, as oc requires;
// source names where the objects came from in the error.
func firstTemplate(objs []runtime.Object, source string) (*templatev1.Template, error) {
	if len(objs) == 0 {
		return nil, fmt.Errorf("no objects passed to process")
	}
	tpl, ok := objs[0].(*templatev1.Template)
	if !ok {
		return nil, fmt.Errorf("unable to parse %q, not a valid Template but %s", source, reflect.TypeOf(objs[0]))
	}
	return tpl, nil
}
