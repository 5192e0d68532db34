package templateprocessing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	templatev1 "github.com/openshift/api/template/v1"

	"github.com/kubia-dev/kubia/internal/goldenfile"
)

// libraryDir holds real templates of OpenShift's catalog (openshift/library), unchanged; README.md there names
// their sources and licences.
const libraryDir = "testdata/library"

// goldenCase is one catalog template, processed as `oc process -f <name>.json -p ...` would process it: the values
// given are set as -p sets them, the other parameters keep their defaults or are generated.
type goldenCase struct {
	name   string
	values []Param
	// apiVersions is each processed object's "apiVersion kind", in order: the legacy `v1` kinds of OpenShift's
	// own groups get their group, the other kinds keep theirs.
	apiVersions []string
	// message holds parts of the processed message, generated values as their placeholders.
	message []string
	// check makes further assertions on the processed List, generated values as their placeholders.
	check func(t *testing.T, list map[string]any)
}

var goldenCases = []goldenCase{
	{
		name:   "postgresql-persistent",
		values: []Param{{"DATABASE_SERVICE_NAME", "orders-db"}, {"POSTGRESQL_DATABASE", "orders"}, {"VOLUME_CAPACITY", "5Gi"}},
		apiVersions: []string{
			"v1 Secret", "v1 Service", "v1 PersistentVolumeClaim", "apps/v1 Deployment",
		},
		message: []string{
			"The following service(s) have been created in your project: orders-db.",
			"Username: <generated:POSTGRESQL_USER>", "Password: <generated:POSTGRESQL_PASSWORD>", "Database Name: orders",
			"Connection URL: postgresql://orders-db:5432/",
		},
		check: func(t *testing.T, list map[string]any) {
			secret := item(t, list, 0)
			wantString(t, secret, "<generated:POSTGRESQL_USER>", "stringData", "database-user")
			wantString(t, secret, "<generated:POSTGRESQL_PASSWORD>", "stringData", "database-password")
			wantString(t, item(t, list, 2), "5Gi", "spec", "resources", "requests", "storage")
			// The image trigger's namespace is an ordinary field, not metadata.namespace: substituted and kept.
			wantString(t, item(t, list, 3), `[{"from":{"kind":"ImageStreamTag","name":"postgresql:15-el8","namespace":"openshift"},"fieldPath": "spec.template.spec.containers[0].image"}]`,
				"metadata", "annotations", "image.openshift.io/triggers")
		},
	},
	{
		name: "django-psql-example",
		values: []Param{
			{"NAME", "shop"}, {"APPLICATION_DOMAIN", "shop.apps.example.com"}, {"DATABASE_NAME", "shop"},
			{"SOURCE_REPOSITORY_REF", "3.2.x"},
		},
		apiVersions: []string{
			"v1 Secret", "v1 Service", "route.openshift.io/v1 Route", "image.openshift.io/v1 ImageStream",
			"build.openshift.io/v1 BuildConfig", "apps.openshift.io/v1 DeploymentConfig", "v1 Service",
			"apps.openshift.io/v1 DeploymentConfig",
		},
		message: []string{"The following service(s) have been created in your project: shop, postgresql."},
		check: func(t *testing.T, list map[string]any) {
			secret := item(t, list, 0)
			wantString(t, secret, "<generated:DATABASE_PASSWORD>", "stringData", "database-password")
			wantString(t, secret, "<generated:DJANGO_SECRET_KEY>", "stringData", "django-secret-key")
			wantString(t, item(t, list, 2), "shop.apps.example.com", "spec", "host")
			// Nested namespaces (an ImageStreamTag's) are ordinary strings, substituted and kept.
			wantString(t, item(t, list, 4), "openshift", "spec", "strategy", "sourceStrategy", "from", "namespace")
			wantString(t, item(t, list, 7), "openshift", "spec", "triggers", "0", "imageChangeParams", "from", "namespace")
			// The application's own image comes from its own namespace: no namespace at all.
			wantValue(t, item(t, list, 5), map[string]any{"kind": "ImageStreamTag", "name": "shop:latest"},
				"spec", "triggers", "0", "imageChangeParams", "from")
		},
	},
	{
		// The last catalog version with legacy `v1` kinds (openshift/library 7352598a), which OpenShift still
		// accepts: the Route, DeploymentConfig and RoleBinding get their OpenShift groups.
		name:   "jenkins-ephemeral",
		values: []Param{{"JENKINS_SERVICE_NAME", "ci"}, {"JNLP_SERVICE_NAME", "ci-jnlp"}},
		apiVersions: []string{
			"route.openshift.io/v1 Route", "v1 ConfigMap", "apps.openshift.io/v1 DeploymentConfig",
			"v1 ServiceAccount", "authorization.openshift.io/v1 RoleBinding", "v1 Service", "v1 Service",
		},
		message: []string{"A Jenkins service has been created in your project."},
		check: func(t *testing.T, list map[string]any) {
			// The OpenShift RoleBinding's own fields (roleRef by name only, groupNames) pass through untouched.
			binding := item(t, list, 4)
			wantValue(t, binding, map[string]any{"name": "edit"}, "roleRef")
			wantValue(t, binding, nil, "groupNames")
			wantValue(t, binding, []any{map[string]any{"kind": "ServiceAccount", "name": "ci"}}, "subjects")
			// JSON inside an annotation is a plain string: substituted, not parsed.
			wantString(t, item(t, list, 6), `[{"name": "ci-jnlp", "namespace": "", "kind": "Service"}]`,
				"metadata", "annotations", "service.alpha.openshift.io/dependencies")
		},
	},
	{
		// Its labels refer to a parameter: `app: ${NAME}` is substituted before it is added to the objects.
		name:   "jenkins-ephemeral-monitored",
		values: []Param{{"NAME", "ci"}, {"JENKINS_SERVICE_NAME", "jenkins-ci"}, {"JNLP_SERVICE_NAME", "jenkins-ci-jnlp"}},
		apiVersions: []string{
			"route.openshift.io/v1 Route", "v1 ConfigMap", "apps.openshift.io/v1 DeploymentConfig",
			"v1 ServiceAccount", "authorization.openshift.io/v1 RoleBinding", "v1 Service", "v1 Service",
			"monitoring.coreos.com/v1 ServiceMonitor",
		},
		check: func(t *testing.T, list map[string]any) {
			monitor := item(t, list, 7)
			wantString(t, monitor, "ci-monitored", "metadata", "name")
			wantValue(t, monitor, map[string]any{"app": "ci", "name": "jenkins", "template": "jenkins-ephemeral-monitored"},
				"metadata", "labels")
			// The ServiceMonitor selects the Service by the template's label, which processing put on it.
			wantValue(t, monitor, map[string]any{"app": "ci"}, "spec", "selector", "matchLabels")
			wantString(t, item(t, list, 6), "ci", "metadata", "labels", "app")
		},
	},
	{
		// The only `${{X}}` in the catalog; APPLICATION_USER is required and has no default.
		name:   "cache-service",
		values: []Param{{"APPLICATION_USER", "app"}, {"NUMBER_OF_INSTANCES", "3"}, {"TOTAL_CONTAINER_MEM", "1024"}},
		apiVersions: []string{
			"v1 Secret", "v1 Service", "v1 Service", "apps/v1 StatefulSet",
		},
		check: func(t *testing.T, list map[string]any) {
			statefulSet := item(t, list, 3)
			wantValue(t, statefulSet, json.Number("3"), "spec", "replicas")
			wantString(t, statefulSet, "1024Mi", "spec", "template", "spec", "containers", "0", "resources", "limits", "memory")
			// The object's own label is kept beside the template's.
			wantValue(t, statefulSet, map[string]any{"application": "cache-service", "template": "cache-service"},
				"metadata", "labels")
			wantString(t, item(t, list, 0), "<generated:APPLICATION_PASSWORD>", "stringData", "application-password")
		},
	},
	{
		// A legacy `v1` DeploymentConfig in today's catalog, generated credentials with a literal prefix, and
		// template labels merged with the objects' own.
		name:   "amq63-basic",
		values: []Param{{"APPLICATION_NAME", "orders-broker"}, {"MQ_PROTOCOL", "openwire,amqp"}, {"MQ_QUEUES", "orders"}},
		apiVersions: []string{
			"v1 Service", "v1 Service", "v1 Service", "v1 Service", "v1 Service", "apps.openshift.io/v1 DeploymentConfig",
		},
		message: []string{
			`It will handle the protocol(s) "openwire,amqp".`,
			"The username/password for accessing the service is <generated:MQ_USERNAME>/<generated:MQ_PASSWORD>.",
		},
		check: func(t *testing.T, list map[string]any) {
			wantValue(t, item(t, list, 5), map[string]any{"application": "orders-broker", "template": "amq63-basic", "xpaas": "1.4.17"},
				"metadata", "labels")
		},
	},
}

// TestGolden processes real catalog templates and compares the `oc process -o json` List with its golden, generated
// values replaced by placeholders. Each generated value is first checked against its expression.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			source := readLibraryTemplate(t, tc.name)
			processed, generated := processWithGeneration(t, source, tc.values)
			placeholders := processWithPlaceholders(t, source, tc.values, generated)
			assertPlaceholdersStandForValues(t, processed, placeholders, generated)

			// `go test ./internal/templateprocessing -run TestGolden -update` rewrites the goldens. Read the diff
			// before committing it: a golden must show what OpenShift does, not just what the code does.
			got := encodeList(t, placeholders)
			goldenfile.Check(t, filepath.Join(libraryDir, tc.name+".golden.json"), string(got))

			list := decodeGeneric(t, got).(map[string]any)
			assertOpenShiftSemantics(t, source, placeholders, list)
			assertAPIVersions(t, list, tc.apiVersions)
			for _, part := range tc.message {
				if !strings.Contains(placeholders.Message, part) {
					t.Errorf("message %q does not contain %q", placeholders.Message, part)
				}
			}
			if tc.check != nil {
				tc.check(t, list)
			}
		})
	}
}

// TestGoldenHardCodedNamespaceIsStripped: no catalog template hard-codes metadata.namespace (they would fail to
// instantiate in any other project), so each is given one here, and must process to the same golden: OpenShift
// deletes a literal metadata.namespace before substitution.
func TestGoldenHardCodedNamespaceIsStripped(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			source := readLibraryTemplate(t, tc.name)
			for i := range source.Objects {
				obj := decodeGeneric(t, source.Objects[i].Raw).(map[string]any)
				obj["metadata"].(map[string]any)["namespace"] = "hard-coded"
				source.Objects[i].Raw = mustMarshal(t, obj)
			}
			_, generated := processWithGeneration(t, source, tc.values)
			got := encodeList(t, processWithPlaceholders(t, source, tc.values, generated))
			want, err := os.ReadFile(filepath.Join(libraryDir, tc.name+".golden.json"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("with a hard-coded namespace (-golden +got):\n%s", diff)
			}
		})
	}
}

// TestGoldenRequiredParameterLeftEmpty: cache-service's APPLICATION_USER is required and has no default, so
// processing it without a value fails as OpenShift fails, naming the parameter, after generating the others.
func TestGoldenRequiredParameterLeftEmpty(t *testing.T) {
	tpl := readLibraryTemplate(t, "cache-service")
	errs := Process(tpl, rand.New(rand.NewSource(testSeed)))
	want := []string{"template.parameters[6]: Required value: template.parameters[6]: parameter APPLICATION_USER is required and must be specified"}
	if diff := cmp.Diff(want, errorStrings(errs)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestGoldenGeneratedValuesDrawFromTheirClass processes the catalog templates with many seeds: every generated
// value matches its expression, and over all of them each parameter's generators drew every character of their
// class and nothing else. So `[a-zA-Z0-9]{16}` passwords never contain z, Z or 9, OpenShift's range-end
// off-by-one, and `user[A-Z0-9]{3}` user names never end in Z or 9.
func TestGoldenGeneratedValuesDrawFromTheirClass(t *testing.T) {
	const seeds = 200
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			source := withValues(t, readLibraryTemplate(t, tc.name), tc.values)
			drawn, classes := map[string]string{}, map[string]string{}
			for seed := range int64(seeds) {
				tpl := source.DeepCopy()
				if errs := Process(tpl, rand.New(rand.NewSource(seed))); len(errs) > 0 {
					t.Fatalf("seed %d: %v", seed, errs)
				}
				for i, param := range tpl.Parameters {
					if source.Parameters[i].Generate != ExpressionGenerator || source.Parameters[i].Value != "" {
						continue
					}
					chars, class, err := matchesExpression(param.Value, param.From)
					if err != nil {
						t.Fatalf("seed %d: %s = %q from %q: %v", seed, param.Name, param.Value, param.From, err)
					}
					drawn[param.Name] += chars
					classes[param.Name] = class
				}
			}
			for name, chars := range drawn {
				if got, want := sortedSet(chars), sortedSet(classes[name]); got != want {
					t.Errorf("%s drew %q over %d seeds, want its whole class %q", name, got, seeds, want)
				}
			}
		})
	}
}

func readLibraryTemplate(t *testing.T, name string) *templatev1.Template {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(libraryDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeTemplate(t, string(data))
}

// processWithGeneration processes a copy of source with the values given and returns it with the values generated
// for the other parameters, each checked against its `from` expression.
func processWithGeneration(t *testing.T, source *templatev1.Template, values []Param) (*templatev1.Template, map[string]string) {
	t.Helper()
	tpl := withValues(t, source, values)
	expressions := map[string]string{}
	for _, param := range tpl.Parameters {
		if param.Generate == ExpressionGenerator && param.Value == "" {
			expressions[param.Name] = param.From
		}
	}
	if errs := Process(tpl, rand.New(rand.NewSource(testSeed))); len(errs) > 0 {
		t.Fatalf("processing: %v", errs)
	}
	generated := map[string]string{}
	for _, param := range tpl.Parameters {
		from, ok := expressions[param.Name]
		if !ok {
			continue
		}
		if _, _, err := matchesExpression(param.Value, from); err != nil {
			t.Errorf("parameter %s: generated %q from %q: %v", param.Name, param.Value, from, err)
		}
		generated[param.Name] = param.Value
	}
	return tpl, generated
}

// processWithPlaceholders processes a copy of source with the values given and each generated parameter set to
// its placeholder, so that nothing is generated and the placeholders stand where the values were substituted.
func processWithPlaceholders(t *testing.T, source *templatev1.Template, values []Param, generated map[string]string) *templatev1.Template {
	t.Helper()
	values = slices.Clone(values)
	for _, name := range slices.Sorted(maps.Keys(generated)) {
		values = append(values, Param{Name: name, Value: placeholder(name)})
	}
	tpl := withValues(t, source, values)
	if errs := Process(tpl, rand.New(rand.NewSource(testSeed))); len(errs) > 0 {
		t.Fatalf("processing with placeholders: %v", errs)
	}
	return tpl
}

func placeholder(name string) string { return "<generated:" + name + ">" }

func withValues(t *testing.T, source *templatev1.Template, values []Param) *templatev1.Template {
	t.Helper()
	tpl := source.DeepCopy()
	if err := SetParameters(tpl, values, false); err != nil {
		t.Fatalf("setting %v: %v", values, err)
	}
	return tpl
}

// assertPlaceholdersStandForValues checks that the placeholders took the generated values' places exactly: the
// placeholders' List and message with each placeholder replaced by its value are the generated ones.
func assertPlaceholdersStandForValues(t *testing.T, processed, placeholders *templatev1.Template, generated map[string]string) {
	t.Helper()
	var pairs []string
	for name, value := range generated {
		pairs = append(pairs, placeholder(name), value)
	}
	replacer := strings.NewReplacer(pairs...)
	want := replaceStrings(decodeGeneric(t, encodeList(t, placeholders)), replacer)
	if diff := cmp.Diff(want, decodeGeneric(t, encodeList(t, processed))); diff != "" {
		t.Errorf("the generated List is not the placeholders' with the values (-placeholders replaced +generated):\n%s", diff)
	}
	if got, want := processed.Message, replacer.Replace(placeholders.Message); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

// replaceStrings replaces in every string of a decoded JSON value, map keys included.
func replaceStrings(v any, r *strings.Replacer) any {
	switch v := v.(type) {
	case string:
		return r.Replace(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = replaceStrings(e, r)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[r.Replace(k)] = replaceStrings(e, r)
		}
		return out
	}
	return v
}

// goldenList is the List `oc process -o json` prints, its fields in oc's order; items are decoded JSON, whose keys
// encode sorted, as Unstructured objects encode.
type goldenList struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   map[string]any `json:"metadata"`
	Items      []any          `json:"items"`
}

// encodeList encodes the processed template's List as `oc process -o json` prints it, indented by four spaces,
// except that <, > and & are written as they are (oc escapes them as \u003c and so on; the JSON is the same).
func encodeList(t *testing.T, tpl *templatev1.Template) []byte {
	t.Helper()
	list := decodeGeneric(t, mustMarshal(t, ToList(tpl))).(map[string]any)
	out := goldenList{
		Kind:       list["kind"].(string),
		APIVersion: list["apiVersion"].(string),
		Metadata:   list["metadata"].(map[string]any),
		Items:      list["items"].([]any),
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(out); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeGeneric decodes JSON keeping numbers as written (json.Number), so that a golden shows 3 as 3.
func decodeGeneric(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// assertOpenShiftSemantics checks what OpenShift does to every object, against the template's source: no
// metadata.namespace is left; the template's labels (substituted) are in each object's metadata.labels, beside the
// object's own; pod templates and selectors get none of them.
func assertOpenShiftSemantics(t *testing.T, source, processed *templatev1.Template, list map[string]any) {
	t.Helper()
	items := list["items"].([]any)
	if len(items) != len(source.Objects) {
		t.Fatalf("%d items, want one per object (%d)", len(items), len(source.Objects))
	}
	for i, raw := range source.Objects {
		obj := items[i].(map[string]any)
		before := decodeGeneric(t, raw.Raw).(map[string]any)
		name := fmt.Sprintf("item %d (%s %v)", i, obj["kind"], lookup(obj, "metadata", "name"))
		meta := obj["metadata"].(map[string]any)
		if ns, ok := meta["namespace"]; ok {
			t.Errorf("%s: metadata.namespace %v kept, want it stripped", name, ns)
		}
		labels, _ := meta["labels"].(map[string]any)
		for key, value := range processed.ObjectLabels {
			if labels[key] != value {
				t.Errorf("%s: label %s=%v, want the template's %q", name, key, labels[key], value)
			}
		}
		ownLabels, _ := lookup(before, "metadata", "labels").(map[string]any)
		for key := range ownLabels {
			if _, ok := labels[key]; !ok {
				t.Errorf("%s: its own label %s is gone", name, key)
			}
		}
		for _, path := range [][]string{
			{"spec", "template", "metadata", "labels"}, {"spec", "selector"}, {"spec", "selector", "matchLabels"},
		} {
			if got, want := keys(lookup(obj, path...)), keys(lookup(before, path...)); !slices.Equal(got, want) {
				t.Errorf("%s: %s has keys %q, want the template's own %q (template labels go to metadata.labels only)",
					name, strings.Join(path, "."), got, want)
			}
		}
		if strings.Contains(string(mustMarshal(t, obj)), "${") {
			t.Errorf("%s: a ${...} reference is left: %s", name, mustMarshal(t, obj))
		}
	}
}

func assertAPIVersions(t *testing.T, list map[string]any, want []string) {
	t.Helper()
	var got []string
	for _, it := range list["items"].([]any) {
		obj := it.(map[string]any)
		got = append(got, fmt.Sprintf("%v %v", obj["apiVersion"], obj["kind"]))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("apiVersion and kind of the objects (-want +got):\n%s", diff)
	}
}

// lookup follows a path of map keys and list indices through decoded JSON; nil if it leads nowhere.
func lookup(v any, path ...string) any {
	for _, step := range path {
		switch node := v.(type) {
		case map[string]any:
			v = node[step]
		case []any:
			i, err := strconv.Atoi(step)
			if err != nil || i < 0 || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}

// keys returns the sorted keys of a map, nil for anything else.
func keys(v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
}

func item(t *testing.T, list map[string]any, i int) map[string]any {
	t.Helper()
	obj, ok := lookup(list, "items", strconv.Itoa(i)).(map[string]any)
	if !ok {
		t.Fatalf("no item %d", i)
	}
	return obj
}

func wantString(t *testing.T, obj map[string]any, want string, path ...string) {
	t.Helper()
	wantValue(t, obj, want, path...)
}

func wantValue(t *testing.T, obj map[string]any, want any, path ...string) {
	t.Helper()
	if diff := cmp.Diff(want, lookup(obj, path...)); diff != "" {
		t.Errorf("%v %v: %s (-want +got):\n%s", obj["kind"], lookup(obj, "metadata", "name"), strings.Join(path, "."), diff)
	}
}

// matchesExpression checks a generated value against its expression as OpenShift's generator reads it (the
// generators found by generatorRegexp, of fuzz_test.go; the text around them literal as it is), and for each
// generator exactly `length` characters of its class. It returns the characters the generators drew and the union
// of their classes. It knows the classes \w, \d, \a, \A and ranges X-Y, which run in the order letters, digits,
// symbols and stop before Y (so [a-z] never gives z); it refuses the rest (such as the pairing quirk of [ac-e]),
// which no catalog template uses.
func matchesExpression(value, from string) (drawn, classes string, err error) {
	rest := value
	literalStart := 0
	for _, m := range generatorRegexp.FindAllStringSubmatchIndex(from, -1) {
		literal := from[literalStart:m[0]]
		if !strings.HasPrefix(rest, literal) {
			return "", "", fmt.Errorf("want the literal %q at %q", literal, rest)
		}
		rest = rest[len(literal):]
		class, err := expressionClass(from[m[2]:m[3]])
		if err != nil {
			return "", "", err
		}
		length, _ := strconv.Atoi(from[m[6]:m[7]])
		if len(rest) < length {
			return "", "", fmt.Errorf("want %d characters of [%s] at %q", length, from[m[2]:m[3]], rest)
		}
		for _, c := range rest[:length] {
			if !strings.ContainsRune(class, c) {
				return "", "", fmt.Errorf("%q is not one of %q", c, class)
			}
		}
		drawn += rest[:length]
		classes += class
		rest = rest[length:]
		literalStart = m[1]
	}
	if literal := from[literalStart:]; rest != literal {
		return "", "", fmt.Errorf("want the literal %q at the end, got %q", literal, rest)
	}
	return drawn, classes, nil
}

// generatorASCII is the order of the generator's characters, which defines its ranges.
const generatorASCII = lower + upper + digits + symbols

// expressionClass returns the characters a generator's class draws from.
func expressionClass(body string) (string, error) {
	var class strings.Builder
	for body != "" {
		switch {
		case strings.HasPrefix(body, `\w`):
			class.WriteString(lower + upper + digits + "_")
		case strings.HasPrefix(body, `\d`):
			class.WriteString(digits)
		case strings.HasPrefix(body, `\a`):
			class.WriteString(lower + upper + digits)
		case strings.HasPrefix(body, `\A`):
			class.WriteString(symbols)
		case len(body) >= 3 && body[1] == '-' && body[0] != '\\' && body[2] != '\\':
			from, to := strings.IndexByte(generatorASCII, body[0]), strings.LastIndexByte(generatorASCII, body[2])
			if from < 0 || to < from {
				return "", fmt.Errorf("range %s is not one the golden test knows", body[:3])
			}
			class.WriteString(generatorASCII[from:to]) // the range's end excluded, as in OpenShift
			body = body[3:]
			continue
		default:
			return "", errors.New("class [" + body + "] is not one the golden test knows")
		}
		body = body[2:]
	}
	return class.String(), nil
}

func TestMatchesExpression(t *testing.T) {
	cases := map[string]struct {
		value, from string
		ok          bool
	}{
		"literal prefix and a range":           {value: "userAB0", from: "user[A-Z0-9]{3}", ok: true},
		"the range's start is included: A":     {value: "userAAA", from: "user[A-Z0-9]{3}", ok: true},
		"the range's end is excluded: Z":       {value: "userABZ", from: "user[A-Z0-9]{3}"},
		"the range's end is excluded: 9":       {value: "userAB9", from: "user[A-Z0-9]{3}"},
		"the range's end is excluded: z":       {value: "abcz", from: "[a-zA-Z0-9]{4}"},
		"too short":                            {value: "userAB", from: "user[A-Z0-9]{3}"},
		"too long":                             {value: "userABCD", from: "user[A-Z0-9]{3}"},
		"a wrong prefix":                       {value: "usrABC", from: "user[A-Z0-9]{3}"},
		`\w has the underscore and z, Z and 9`: {value: "_zZ9", from: `[\w]{4}`, ok: true},
		"text after the generator":             {value: "x-01-y", from: "x-[0-9]{2}-y", ok: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := matchesExpression(tc.value, tc.from); (err == nil) != tc.ok {
				t.Errorf("matchesExpression(%q, %q) = %v, want ok %v", tc.value, tc.from, err, tc.ok)
			}
		})
	}
}
