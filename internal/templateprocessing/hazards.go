package templateprocessing

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"

	templatev1 "github.com/openshift/api/template/v1"
	"github.com/openshift/library-go/pkg/template/templateprocessing"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// dependsOnOrder ends the messages about inputs whose result OpenShift leaves to chance.
const dependsOnOrder = "OpenShift's result would depend on the random order in which Go visits the map's keys"

// onceOrTwice ends the messages about moved template labels that a second substitution would change.
const onceOrTwice = "OpenShift substitutes a moved label once or twice depending on the random order in which Go visits the map's keys"

// fieldNameRegexp matches the keys shown as ".key" in field paths; others, such as label keys with dots and
// slashes, are shown as "[key]" so that the path stays unambiguous.
var fieldNameRegexp = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// hazardChecker finds, before library-go runs, the inputs on which OpenShift's processing panics or gives a result
// that depends on Go's random map order. It asks library-go what each string becomes rather than predicting it, so
// it cannot disagree with the processing it guards.
type hazardChecker struct {
	processor *templateprocessing.Processor
	params    map[string]templatev1.Parameter
}

func newHazardChecker(processor *templateprocessing.Processor, params []templatev1.Parameter) *hazardChecker {
	byName := make(map[string]templatev1.Parameter, len(params))
	for _, param := range params {
		byName[param.Name] = param // the last of two parameters of the same name wins, as in library-go
	}
	return &hazardChecker{processor: processor, params: byName}
}

// check returns an error for each hazard in t's labels and objects, in a stable order.
func (c *hazardChecker) check(t *templatev1.Template) field.ErrorList {
	errs := c.checkLabels(t.ObjectLabels, field.NewPath("labels"))
	for i, item := range t.Objects {
		content, ok := decodedContent(item)
		if !ok {
			continue // library-go reports the objects it cannot decode, with its own message
		}
		errs = append(errs, c.checkMap(content, field.NewPath("objects").Index(i))...)
	}
	return errs
}

// decodedContent decodes an object as library-go does and returns its content.
func decodedContent(item runtime.RawExtension) (map[string]interface{}, bool) {
	obj := item.Object
	if len(item.Raw) > 0 {
		decoded, err := runtime.Decode(unstructured.UnstructuredJSONScheme, item.Raw)
		if err != nil {
			return nil, false
		}
		obj = decoded
	}
	u, ok := obj.(runtime.Unstructured)
	if !ok {
		return nil, false
	}
	return u.UnstructuredContent(), true
}

func (c *hazardChecker) checkValue(value interface{}, path *field.Path) field.ErrorList {
	switch value := value.(type) {
	case map[string]interface{}:
		return c.checkMap(value, path)
	case []interface{}:
		return c.checkList(value, path)
	}
	return nil
}

// checkList reports the elements `${{X}}` with X's value JSON null: library-go then sets the element to an
// invalid reflect.Value and panics.
func (c *hazardChecker) checkList(list []interface{}, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, element := range list {
		s, isString := element.(string)
		if !isString {
			errs = append(errs, c.checkValue(element, path.Index(i))...)
			continue
		}
		if value, typed := c.typedValue(s); typed && value == nil {
			errs = append(errs, field.Invalid(path.Index(i), s, fmt.Sprintf(
				"parameter %s is JSON null, which OpenShift cannot put in a list (it panics)", typedParameterName(s))))
		}
	}
	return errs
}

// checkMap reports the keys library-go cannot set and the keys that collide after substitution, then checks the
// values.
func (c *hazardChecker) checkMap(m map[string]interface{}, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	newKeys := make(map[string]string, len(m))
	for _, key := range sortedKeys(m) {
		newKey, err := c.substituteKey(key)
		if err != nil {
			errs = append(errs, field.Invalid(path, key, err.Error()))
		} else {
			newKeys[key] = newKey
		}
		errs = append(errs, c.checkValue(m[key], childPath(path, key))...)
	}
	for _, group := range changedKeyGroups(newKeys) {
		if msg := c.objectCollision(m, newKeys, group); msg != "" {
			errs = append(errs, field.Invalid(path, group.keys[0], msg))
		}
	}
	return errs
}

// substituteKey returns what library-go makes of a map key, or an error where it would panic: a `${{X}}` key whose
// value is JSON other than a string cannot be a key of a map of strings.
func (c *hazardChecker) substituteKey(key string) (string, error) {
	if value, typed := c.typedValue(key); typed {
		s, isString := value.(string)
		if !isString {
			return "", fmt.Errorf("parameter %s is %s, and a map key must stay a string (OpenShift panics on this)",
				typedParameterName(key), describeJSON(value))
		}
		return s, nil
	}
	s, _ := c.processor.EvaluateParameterSubstitution(c.params, key)
	return s, nil
}

// typedValue returns the JSON value library-go puts in place of s, and whether it does: only for a whole-string
// `${{X}}` of a known parameter whose value is valid JSON (otherwise the value is kept as a string).
func (c *hazardChecker) typedValue(s string) (interface{}, bool) {
	out, asString := c.processor.EvaluateParameterSubstitution(c.params, s)
	if asString {
		return nil, false
	}
	var value interface{}
	if err := json.Unmarshal([]byte(out), &value); err != nil {
		return nil, false
	}
	return value, true
}

// keyGroup is a set of keys of one map that substitution changes into the same new key.
type keyGroup struct {
	newKey string
	keys   []string // sorted
}

// changedKeyGroups groups the keys that substitution changes by their new key, in a stable order.
func changedKeyGroups(newKeys map[string]string) []keyGroup {
	byNewKey := map[string][]string{}
	for key, newKey := range newKeys {
		if newKey != key {
			byNewKey[newKey] = append(byNewKey[newKey], key)
		}
	}
	groups := make([]keyGroup, 0, len(byNewKey))
	for _, newKey := range sortedKeys(byNewKey) {
		keys := byNewKey[newKey]
		slices.Sort(keys)
		groups = append(groups, keyGroup{newKey: newKey, keys: keys})
	}
	return groups
}

// objectCollision explains why the result for a group of an object's map depends on the order in which library-go
// visits the keys, or returns "". library-go lists the keys first, then for each one deletes it and sets the new key
// to the substituted value. So when several keys become one new key, the last visited wins; when the new key is
// an existing key that stays as it is, that key may be visited after and its (already substituted) value
// substituted a second time; and when the new key is an existing key that changes too, the two moves chain in an
// order-dependent way.
func (c *hazardChecker) objectCollision(m map[string]interface{}, newKeys map[string]string, group keyGroup) string {
	_, existing := m[group.newKey]
	if existing {
		next, substituted := newKeys[group.newKey]
		if !substituted {
			return "" // the existing key cannot be substituted, which is reported already
		}
		if next != group.newKey {
			return chainMessage(group, next)
		}
	}
	if !existing && len(group.keys) == 1 {
		return ""
	}
	var outcomes []valueOutcome
	for _, key := range group.keys {
		once, ok := c.substituteValue(valueOutcome{value: m[key], present: true})
		if !ok {
			return collisionMessage(group, existing)
		}
		outcomes = append(outcomes, once)
		if !existing {
			continue
		}
		if !once.present {
			return fmt.Sprintf("%s and its value becomes null, deleting the key, which makes OpenShift panic when it visits the key %q afterwards", becomesMessage(group), group.newKey)
		}
		twice, ok := c.substituteValue(once)
		if !ok {
			return collisionMessage(group, existing)
		}
		outcomes = append(outcomes, twice)
	}
	if !allEqual(outcomes) {
		return collisionMessage(group, existing)
	}
	return ""
}

// valueOutcome is a value after substitution, or its absence when `${{X}}` with a null value deleted its key.
type valueOutcome struct {
	value   interface{}
	present bool
}

// substituteValue substitutes a copy of v as library-go substitutes a map value. ok is false if library-go
// panicked, which a value produced by a first substitution can make it do.
func (c *hazardChecker) substituteValue(v valueOutcome) (out valueOutcome, ok bool) {
	defer func() {
		if recover() != nil {
			out, ok = valueOutcome{}, false
		}
	}()
	holder := &unstructured.Unstructured{Object: map[string]interface{}{"v": runtime.DeepCopyJSONValue(v.value)}}
	if _, err := c.processor.SubstituteParameters(c.params, holder); err != nil {
		return valueOutcome{}, false
	}
	value, present := holder.Object["v"]
	return valueOutcome{value: value, present: present}, true
}

func allEqual(outcomes []valueOutcome) bool {
	for _, outcome := range outcomes[1:] {
		if !reflect.DeepEqual(outcome, outcomes[0]) {
			return false
		}
	}
	return true
}

// checkLabels reports the template labels whose result depends on the order in which library-go visits them. It
// ranges over the labels map, setting the substituted key and value and deleting the old key; a new key added
// during the range may or may not be visited again, substituting it and its value a second time.
func (c *hazardChecker) checkLabels(labels map[string]string, path *field.Path) field.ErrorList {
	newKeys := make(map[string]string, len(labels))
	for key := range labels {
		newKeys[key] = c.substitute(key)
	}
	var errs field.ErrorList
	for _, group := range changedKeyGroups(newKeys) {
		if msg := c.labelCollision(labels, newKeys, group); msg != "" {
			errs = append(errs, field.Invalid(path, group.keys[0], msg))
		}
	}
	return errs
}

// labelCollision explains why the result for a group of labels depends on the visiting order, or returns "". The
// result is the same in every order only if every key of the group gives the same value and substituting the new
// key or that value again changes nothing.
func (c *hazardChecker) labelCollision(labels map[string]string, newKeys map[string]string, group keyGroup) string {
	_, existing := labels[group.newKey]
	if existing && newKeys[group.newKey] != group.newKey {
		return chainMessage(group, newKeys[group.newKey])
	}
	if again := c.substitute(group.newKey); again != group.newKey {
		return fmt.Sprintf("%s, which substitution changes again (into %q); %s", becomesMessage(group), again, onceOrTwice)
	}
	first := c.substitute(labels[group.keys[0]])
	for _, key := range group.keys {
		value := c.substitute(labels[key])
		if value != first {
			return collisionMessage(group, existing)
		}
		if again := c.substitute(value); again != value {
			return fmt.Sprintf("%s and its value becomes %q, which substitution changes again (into %q); %s", becomesMessage(group), value, again, onceOrTwice)
		}
	}
	return ""
}

// substitute substitutes a string as library-go substitutes the template's message and labels: `${{X}}` is
// replaced by X's raw value there, never parsed as JSON.
func (c *hazardChecker) substitute(s string) string {
	out, _ := c.processor.EvaluateParameterSubstitution(c.params, s)
	return out
}

func becomesMessage(group keyGroup) string {
	if len(group.keys) == 1 {
		return fmt.Sprintf("the key %q becomes %q", group.keys[0], group.newKey)
	}
	return fmt.Sprintf("the keys %s all become %q", quoteAll(group.keys), group.newKey)
}

func collisionMessage(group keyGroup, existing bool) string {
	if existing {
		return fmt.Sprintf("%s, a key the map already has, with a different outcome depending on which is visited first; %s", becomesMessage(group), dependsOnOrder)
	}
	return fmt.Sprintf("%s with different values; %s", becomesMessage(group), dependsOnOrder)
}

func chainMessage(group keyGroup, nextKey string) string {
	return fmt.Sprintf("%s, a key of the same map that itself becomes %q; %s", becomesMessage(group), nextKey, dependsOnOrder)
}

// typedParameterName returns X from "${{X}}".
func typedParameterName(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(s, "${{"), "}}")
}

// describeJSON names the kind of a decoded JSON value for messages.
func describeJSON(value interface{}) string {
	switch value.(type) {
	case nil:
		return "JSON null"
	case bool:
		return "a JSON boolean"
	case float64:
		return "a JSON number"
	case []interface{}:
		return "a JSON list"
	default:
		return "a JSON object"
	}
}

func quoteAll(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(quoted, ", ")
}

func childPath(path *field.Path, key string) *field.Path {
	if fieldNameRegexp.MatchString(key) {
		return path.Child(key)
	}
	return path.Key(key)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
