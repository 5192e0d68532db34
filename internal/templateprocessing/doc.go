// Package templateprocessing processes OpenShift Templates (template.openshift.io/v1) exactly as OpenShift does,
// and holds the client-side rules of `oc process`.
//
// # What comes from OpenShift
//
// Substitution, generation, namespace stripping, labelling and the groupification of legacy `v1` kinds are not
// reimplemented here: Process runs OpenShift's own code, github.com/openshift/library-go's
// templateprocessing.Processor with the "expression" generator of library-go's generator package, the same pair
// openshift-apiserver's processedtemplates endpoint and `oc process --local` use. Before it, Process validates the
// parameter names as openshift-apiserver does (ValidateParameters; that validation lives in openshift-apiserver,
// not in library-go, so it is written here with the same regular expression and messages). OpenShift's quirks are
// kept on purpose, because real templates rely on OpenShift's behaviour and compatibility wins over taste: a range
// `a-z` in a `from` expression never yields `z`, `${{X}}` with a JSON `null` value deletes the key it is the value
// of, a hard-coded `metadata.namespace` is removed, template labels go only into each object's own
// `metadata.labels`, and so on (the tests name each one).
//
// # Where Kubia differs, and why
//
// Only where OpenShift would crash or give a result that depends on chance; every such case is an error naming the
// object and field instead (openshift-apiserver turns a panic into a 500 and `oc process --local` dies):
//   - `${{X}}` as a list element when X's value is JSON `null` (library-go sets a list element to nothing);
//   - `${{X}}` as a map key when X's value is JSON but not a string (a key must stay a string);
//   - a `null` entry in `objects` (library-go dereferences it);
//   - a `from` expression whose character class is empty, such as `[a-a]{3}` (the range end is excluded, and
//     library-go then asks math/rand for a number below zero);
//   - two keys of one map that become the same key after substitution, when the outcome depends on the order in
//     which Go happens to visit the keys (OpenShift's map iteration is random, so the same template could give
//     different objects on two runs, and with a `null` value it can panic); collisions whose outcome is the same
//     in every order are processed as OpenShift processes them;
//   - a template label key whose substituted form still refers to a known parameter, or whose value does: library-go
//     adds the new key while ranging over the map, and Go may or may not visit it again.
//
// These cases are detected before library-go runs, on the decoded objects, and a recover() around library-go turns
// any panic not foreseen here into an internal error rather than a crash.
//
// Process always validates parameter names, as the processedtemplates endpoint does; `oc process --local` skips
// that validation, so a template with an invalid parameter name that `oc process --local` accepts is rejected here.
//
// Objects given as typed Go objects rather than JSON are converted to Unstructured first, so that they are
// processed like the JSON openshift-apiserver always receives (library-go's reflection over typed structs stops
// silently at unexported fields). After processing every object is an *unstructured.Unstructured (or an
// *unstructured.UnstructuredList for a `kind: List` entry) with no Raw bytes, which encodes through its own
// MarshalJSON; openshift-apiserver additionally wraps each object in runtime.NewEncodable for the conversion of its
// internal Template type, which Kubia does not have, and the wrapper would hide the object from Go callers.
//
// # oc process
//
// SplitArgs, ParseParams, CommaWarnings, ReadParamFile, CombineParams, SetParameters, AddLabels, ParseTemplateRef
// and ToList are the client-side rules of openshift/oc's pkg/cli/process and pkg/helpers/newapp/app/env.go,
// rewritten (not copied) with oc's messages, without the trailing newlines oc prints, and in a deterministic order
// where oc iterates over a map (unknown parameters in the order given, param-file warnings in file order). The CLI
// around them (reading the template, forcing its namespace to the current one, printing) is not here.
package templateprocessing
