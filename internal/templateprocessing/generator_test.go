package templateprocessing

import (
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openshift/library-go/pkg/template/generator"
)

const (
	lower   = "abcdefghijklmnopqrstuvwxyz"
	upper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits  = "0123456789"
	symbols = "~!@#$%^&*()-_+={}[]\\|<,>.?/\"';:`"
)

func newTestGenerator(seed int64) safeGenerator {
	return safeGenerator{generator.NewExpressionValueGenerator(rand.New(rand.NewSource(seed)))}
}

// generate returns the value generated from `from`, failing the test on an error.
func generate(t *testing.T, g safeGenerator, from string) string {
	t.Helper()
	value, err := g.GenerateValue(from)
	if err != nil {
		t.Fatalf("generating from %q: %v", from, err)
	}
	return value.(string)
}

// charactersDrawn generates from `from` many times and returns the sorted set of the characters seen: with enough
// draws every character of the class shows up, so the set is the class.
func charactersDrawn(t *testing.T, from string) string {
	t.Helper()
	g := newTestGenerator(testSeed)
	seen := map[rune]bool{}
	for range 40 {
		for _, r := range generate(t, g, from) {
			seen[r] = true
		}
	}
	set := make([]rune, 0, len(seen))
	for r := range seen {
		set = append(set, r)
	}
	slices.Sort(set)
	return string(set)
}

func sortedSet(chars string) string {
	set := []rune(chars)
	slices.Sort(set)
	return string(slices.Compact(set))
}

func TestGeneratorCharacterClasses(t *testing.T) {
	cases := map[string]struct {
		from string
		want string
	}{
		`\w is letters, digits and underscore`: {from: `[\w]{255}`, want: lower + upper + digits + "_"},
		`\d is the digits`:                     {from: `[\d]{255}`, want: digits},
		`\a is letters and digits (the docs say letters)`: {
			from: `[\a]{255}`, want: lower + upper + digits,
		},
		`\A is the 32 ASCII symbols`: {from: `[\A]{255}`, want: symbols},
		// A range X-Y is ASCII[Index(X):LastIndex(Y)] in the order letters, digits, symbols: Y is excluded.
		"a-z never gives z":                        {from: "[a-z]{255}", want: strings.TrimSuffix(lower, "z")},
		"0-9 never gives 9":                        {from: "[0-9]{255}", want: strings.TrimSuffix(digits, "9")},
		"A-Z0-9 never gives Z or 9":                {from: "[A-Z0-9]{255}", want: "ABCDEFGHIJKLMNOPQRSTUVWXY" + "012345678"},
		"a-zA-Z0-9 draws from 59 characters":       {from: "[a-zA-Z0-9]{255}", want: "abcdefghijklmnopqrstuvwxy" + "ABCDEFGHIJKLMNOPQRSTUVWXY" + "012345678"},
		"0-1 gives only 0":                         {from: "[0-1]{50}", want: "0"},
		"a range across classes follows ASCII":     {from: "[a-Z]{255}", want: lower + "ABCDEFGHIJKLMNOPQRSTUVWXY"},
		"a range into the digits from the letters": {from: "[x-2]{255}", want: "xyz" + upper + "01"},
		`classes combine: \d\A`:                    {from: `[\d\A]{255}`, want: digits + symbols},
		// The body is read in pairs of characters: "ac-e" is a-c (a, b) and e-e (nothing).
		"pairs: ac-e is a and b": {from: "[ac-e]{100}", want: "ab"},
		// "\da-f" is read as "\da" (the pair \ and a, which is the class \a) and "-f"... then f-f.
		`pairs: \da-f reads the class \a`:                      {from: `[\da-f]{255}`, want: lower + upper + digits},
		`pairs: \wa reads the class \a, losing the underscore`: {from: `[\wa]{255}`, want: lower + upper + digits},
		`pairs: \da- reads \a, the trailing dash is ignored`:   {from: `[\da-]{255}`, want: lower + upper + digits},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got, want := charactersDrawn(t, tc.from), sortedSet(tc.want); got != want {
				t.Errorf("characters drawn from %q:\n got %q\nwant %q", tc.from, got, want)
			}
		})
	}
}

func TestGeneratorText(t *testing.T) {
	cases := map[string]struct {
		from       string
		wantPrefix string
		wantLength int
		wantSet    string // the characters the generated part is drawn from
		generated  func(value string) string
	}{
		"text around a generator is kept": {
			from: "user[A-Z0-9]{3}", wantPrefix: "user", wantLength: 7, wantSet: upper + digits,
			generated: func(v string) string { return v[4:] },
		},
		"several generators with text between them": {
			from: "admin[0-9]{2}test[A-Z]{2}", wantPrefix: "admin", wantLength: 13, wantSet: digits + "test" + upper,
			generated: func(v string) string { return v[5:] },
		},
		"a generator at the end and one at the start": {
			from: `[\d]{3}-[\w]{4}`, wantLength: 8, wantSet: digits + "-" + lower + upper + "_",
			generated: func(v string) string { return v },
		},
		"the count may have leading zeros": {
			from: `[\d]{007}`, wantLength: 7, wantSet: digits, generated: func(v string) string { return v },
		},
		"a class with a character outside [a-zA-Z0-9\\-] is literal text": {
			from: "[a-z_]{5}", wantPrefix: "[a-z_]{5}", wantLength: 9, generated: func(string) string { return "" },
		},
		"a class with no count is literal text": {
			from: "[a-z]x", wantPrefix: "[a-z]x", wantLength: 6, generated: func(string) string { return "" },
		},
		"an empty count is literal text": {
			from: "p[a-z]{}", wantPrefix: "p[a-z]{}", wantLength: 8, generated: func(string) string { return "" },
		},
		"no generator at all": {
			from: "plain", wantPrefix: "plain", wantLength: 5, generated: func(string) string { return "" },
		},
		"empty": {
			from: "", wantLength: 0, generated: func(string) string { return "" },
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			value := generate(t, newTestGenerator(testSeed), tc.from)
			if len(value) != tc.wantLength || !strings.HasPrefix(value, tc.wantPrefix) {
				t.Errorf("generated %q from %q, want %d characters starting with %q", value, tc.from, tc.wantLength, tc.wantPrefix)
			}
			if extra := strings.Trim(tc.generated(value), tc.wantSet); extra != "" {
				t.Errorf("generated %q from %q: %q is outside %q", value, tc.from, extra, tc.wantSet)
			}
		})
	}
}

func TestGeneratorErrors(t *testing.T) {
	cases := map[string]struct {
		from string
		want string
	}{
		"letters without a range":                      {from: "[ABC]{3}", want: "malformed expresion syntax: [ABC]"},
		`a class after a range is malformed`:           {from: `[a-z\d]{3}`, want: `malformed expresion syntax: [a-z\d]`},
		"a lone dash":                                  {from: "[-]{3}", want: "malformed expresion syntax: [-]"},
		"an unknown class":                             {from: `[\x]{3}`, want: `malformed expresion syntax: [\x]`},
		"a reversed range":                             {from: "[Z-A]{3}", want: "invalid range specified: Z-A"},
		"a range from upper to lower case":             {from: "[A-z]{3}", want: "invalid range specified: A-z"},
		`a class followed by a letter pairs \ with it`: {from: `[\dx]{3}`, want: `invalid range specified: \-x`},
		`a class followed by a range pairs \ with its start`: {
			from: `[\d0-9]{3}`, want: `invalid range specified: \-0`,
		},
		"a count of 0":   {from: "[a-z]{0}", want: "range must be within [1-255] characters (0)"},
		"a count of 256": {from: "[a-z]{256}", want: "range must be within [1-255] characters (256)"},
		"a count too big for an int": {
			from: "[a-z]{99999999999999999999}", want: "range must be within [1-255] characters (9223372036854775807)",
		},
		"the first error of several generators": {from: "[a-z]{3}[Z-A]{3}[a-z]{0}", want: "invalid range specified: Z-A"},
		"an empty class, where library-go panics": {
			from: "[a-a]{3}", want: `no characters to choose from in "[a-a]{3}": a range X-Y stops before Y in OpenShift, so a range such as a-a is empty`,
		},
		"an empty class made of pairs": {
			from: "[b-bc-c]{3}", want: `no characters to choose from in "[b-bc-c]{3}": a range X-Y stops before Y in OpenShift, so a range such as a-a is empty`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			value, err := newTestGenerator(testSeed).GenerateValue(tc.from)
			if err == nil || err.Error() != tc.want {
				t.Errorf("GenerateValue(%q) = %q, %v; want the error %q", tc.from, value, err, tc.want)
			}
			if value != "" {
				t.Errorf("GenerateValue(%q) gave %q with an error, want an empty value", tc.from, value)
			}
		})
	}
}

func TestGeneratorIsDeterministicForASeed(t *testing.T) {
	from := `pw-[\w]{12}[\A]{4}`
	first, second := generate(t, newTestGenerator(42), from), generate(t, newTestGenerator(42), from)
	if first != second {
		t.Errorf("the same seed gave %q and %q", first, second)
	}
	if other := generate(t, newTestGenerator(43), from); other == first {
		t.Errorf("seeds 42 and 43 both gave %q", first)
	}
}

func TestGeneratorReportsOtherPanics(t *testing.T) {
	g := safeGenerator{generator.NewExpressionValueGenerator(nil)} // no rand: library-go dereferences nil
	_, err := g.GenerateValue("[a-z]{3}")
	if err == nil || !strings.HasPrefix(err.Error(), `generating a value from "[a-z]{3}" panicked: runtime error`) {
		t.Errorf("err = %v, want the panic reported", err)
	}
}

func TestGeneratedValuesThroughProcess(t *testing.T) {
	tpl := mustProcess(t, `{"parameters": [
		{"name": "PASSWORD", "generate": "expression", "from": "[a-zA-Z0-9]{16}"},
		{"name": "PIN", "generate": "expression", "from": "[0-9]{4}"}]}`)
	got := []int{len(tpl.Parameters[0].Value), len(tpl.Parameters[1].Value)}
	if diff := cmp.Diff([]int{16, 4}, got); diff != "" {
		t.Errorf("lengths (-want +got):\n%s", diff)
	}
	if strings.ContainsAny(tpl.Parameters[1].Value, "9abc") {
		t.Errorf("PIN %q has a character outside 0-8", tpl.Parameters[1].Value)
	}
	if tpl.Parameters[0].Generate != ExpressionGenerator {
		t.Errorf("generate = %q, want it kept after generation", tpl.Parameters[0].Generate)
	}
}
