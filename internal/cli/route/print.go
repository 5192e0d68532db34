package route

import (
	"encoding/json"
	"fmt"
	"io"

	routev1 "github.com/openshift/api/route/v1"
	"sigs.k8s.io/yaml"
)

// printRoute prints r as output asks: its name, YAML, JSON, or oc's line
// "route.route.openshift.io/NAME <verb>".
func printRoute(w io.Writer, r *routev1.Route, output, verb string) error {
	r.APIVersion, r.Kind = routev1.GroupVersion.String(), "Route"
	switch output {
	case "":
		_, err := fmt.Fprintf(w, "route.route.openshift.io/%s %s\n", r.Name, verb)
		return err
	case "name":
		_, err := fmt.Fprintf(w, "route.route.openshift.io/%s\n", r.Name)
		return err
	case "json":
		data, err := json.MarshalIndent(r, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	case "yaml":
		data, err := yaml.Marshal(r)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,name,yaml", output)
}
