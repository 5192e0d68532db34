package templateprocessing

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// stdinName is the --param-file name that means standard input.
const stdinName = "-"

// ParamFile is one --param-file of `oc process`: its name as given ("-" for standard input) and its content.
type ParamFile struct {
	Name string
	Data []byte
}

// ReadParamFile reads a --param-file as oc does, from stdin when name is "-" and stdin is not nil, with oc's
// messages.
func ReadParamFile(name string, stdin io.Reader) (ParamFile, error) {
	if name == stdinName && stdin != nil {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return ParamFile{}, fmt.Errorf("Cannot read variables from file %q: %w", displayName(name), err)
		}
		return ParamFile{Name: name, Data: data}, nil
	}
	info, err := os.Stat(name)
	if err != nil {
		return ParamFile{}, fmt.Errorf("Cannot stat %q: %w", name, err)
	}
	if info.IsDir() {
		return ParamFile{}, fmt.Errorf("Cannot read variables from %q: is a directory", name)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return ParamFile{}, fmt.Errorf("Cannot read variables from file %q: %w", name, err)
	}
	return ParamFile{Name: name, Data: data}, nil
}

// displayName is how oc names a parameter file in errors: standard input is "stdin" there (but "-" in warnings).
func displayName(name string) string {
	if name == stdinName {
		return "stdin"
	}
	return name
}

// CombineParams adds the values of the parameter files to the command line's, as `oc process` does: a value on the
// command line wins over a file's, and an earlier file's over a later one's, each ignored value giving oc's warning.
// Within one file the last line of a name wins, silently. The command line's values are kept as given, repeated
// names included, for SetParameters to report. The warnings gathered before an error are returned with it, since
// oc prints them as it goes.
func CombineParams(params []Param, files []ParamFile) ([]Param, []string, error) {
	combined := append([]Param(nil), params...)
	given := map[string]bool{}
	for _, param := range params {
		given[param.Name] = true
	}
	var warnings []string
	for _, file := range files {
		fileParams, err := parseParamFile(file)
		if err != nil {
			return nil, warnings, err
		}
		for _, param := range fileParams {
			if given[param.Name] {
				warnings = append(warnings, fmt.Sprintf(
					"warning: Template parameter %q already defined, ignoring value from file %q", param.Name, file.Name))
				continue
			}
			given[param.Name] = true
			combined = append(combined, param)
		}
	}
	return combined, warnings, nil
}

// parseParamFile parses a parameter file in the dotenv format of oc's copy of an early github.com/joho/godotenv,
// and checks that every name is a valid environment variable name. Names come in the order of their first line,
// each with the value of its last line.
func parseParamFile(file ParamFile) ([]Param, error) {
	var names []string
	values := map[string]string{}
	scanner := bufio.NewScanner(bytes.NewReader(file.Data))
	// oc sizes the scanner's buffer to the file, so that no line is too long.
	scanner.Buffer(nil, len(file.Data)+bufio.MaxScanTokenSize)
	for scanner.Scan() {
		line := scanner.Text()
		if isBlankOrComment(line) {
			continue
		}
		name, value, err := parseParamLine(line)
		if err != nil {
			return nil, fmt.Errorf("Cannot read variables from file %q: %w", displayName(file.Name), err)
		}
		if _, seen := values[name]; !seen {
			names = append(names, name)
		}
		values[name] = value
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("Cannot read variables from file %q: %w", displayName(file.Name), err)
	}
	params := make([]Param, 0, len(names))
	for _, name := range names {
		if problems := validation.IsEnvVarName(name); len(problems) > 0 {
			return nil, fmt.Errorf("invalid parameter assignment in %s=%s", name, values[name])
		}
		params = append(params, Param{Name: name, Value: values[name]})
	}
	return params, nil
}

func isBlankOrComment(line string) bool {
	trimmed := strings.Trim(line, " \n\t")
	return trimmed == "" || strings.HasPrefix(trimmed, "#")
}

// parseParamLine parses "NAME=value", "NAME: value" or "export NAME=value", with a trailing comment removed.
func parseParamLine(line string) (name, value string, err error) {
	line = stripComment(line)
	separator := "="
	colon, equals := strings.Index(line, ":"), strings.Index(line, "=")
	if colon != -1 && (equals == -1 || colon < equals) {
		separator = ":" // a YAML-style line
	}
	name, value, found := strings.Cut(line, separator)
	if !found {
		return "", "", errors.New("Can't separate key from value")
	}
	// As in godotenv, any name starting with "export" loses those letters, so "exported=1" sets "ed".
	name = strings.Trim(strings.TrimPrefix(name, "export"), " ")
	return name, unquote(strings.Trim(value, " ")), nil
}

// stripComment removes what follows a "#" unless the "#" is inside quotes, by godotenv's rule: the line is cut at
// every "#", and a piece is kept while a quote it opened is still open, a quote being opened or closed by a piece
// holding exactly one " or exactly one '. The rule is rough (a later piece that opens a quote is kept too, so
// `A=b # it's` keeps its comment), and oc's parameter files are read with it.
func stripComment(line string) string {
	pieces := strings.Split(line, "#")
	kept := pieces[:1]
	open := strings.Count(pieces[0], `"`) == 1 || strings.Count(pieces[0], "'") == 1
	for _, piece := range pieces[1:] {
		toggles := strings.Count(piece, `"`) == 1 || strings.Count(piece, "'") == 1
		closing := toggles && open
		if toggles {
			open = !open
		}
		if open || closing {
			kept = append(kept, piece)
		}
	}
	return strings.Join(kept, "#")
}

// escapeRegexp matches a backslash escape in a quoted value.
var escapeRegexp = regexp.MustCompile(`\\.`)

// unquote removes matching single or double quotes around a value and resolves its backslash escapes: \n and \r
// are a newline and a carriage return, any other escaped character stands for itself. An unquoted value is kept as
// it is.
func unquote(value string) string {
	if len(value) < 2 || value[0] != value[len(value)-1] || (value[0] != '"' && value[0] != '\'') {
		return value
	}
	return escapeRegexp.ReplaceAllStringFunc(value[1:len(value)-1], func(escape string) string {
		switch escape[1] {
		case 'n':
			return "\n"
		case 'r':
			return "\r"
		default:
			return escape[1:]
		}
	})
}
