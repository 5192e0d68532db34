package templateprocessing

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestParamFileSyntax(t *testing.T) {
	cases := map[string]struct {
		content string
		want    []Param
		wantErr string
	}{
		"NAME=value lines, blank lines and comment lines": {
			content: "# a comment\nA=1\n\n   \n\t# indented comment\nB=two words\n",
			want:    []Param{{"A", "1"}, {"B", "two words"}},
		},
		"spaces around the name and the value are trimmed, tabs are not": {
			content: "  A  =  1  \nB=\tx\t\n",
			want:    []Param{{"A", "1"}, {"B", "\tx\t"}},
		},
		"a value may contain equals signs": {
			content: "URL=http://h/?a=b\n",
			want:    []Param{{"URL", "http://h/?a=b"}},
		},
		"YAML style, when the colon comes before any equals sign": {
			content: "A: 1\nB: x=y\nC=x:y\n",
			want:    []Param{{"A", "1"}, {"B", "x=y"}, {"C", "x:y"}},
		},
		"export is dropped, even glued to the name": {
			content: "export A=1\nexportB=2\n",
			want:    []Param{{"A", "1"}, {"B", "2"}},
		},
		"a trailing comment is removed": {
			content: "A=1 # the first\n",
			want:    []Param{{"A", "1"}},
		},
		"a # inside quotes is kept": {
			content: `A="x#y"` + "\n" + `B='a#b#c' # comment` + "\n",
			want:    []Param{{"A", "x#y"}, {"B", "a#b#c"}},
		},
		"a comment opening a quote is kept, as in godotenv": {
			content: "A=b # it's\n",
			want:    []Param{{"A", "b # it's"}},
		},
		"matching quotes are removed and escapes resolved": {
			content: `A="line1\nline2"` + "\n" + `B='tab\t and \\ and \"'` + "\n" + `C="\r"` + "\n",
			want:    []Param{{"A", "line1\nline2"}, {"B", `tabt and \ and "`}, {"C", "\r"}},
		},
		"unmatched or single quotes stay": {
			content: `A="open` + "\n" + `B="` + "\n" + `C='x"` + "\n" + `D=no\nescape` + "\n",
			want:    []Param{{"A", `"open`}, {"B", `"`}, {"C", `'x"`}, {"D", `no\nescape`}},
		},
		"an empty value": {
			content: "A=\nB=\"\"\n",
			want:    []Param{{"A", ""}, {"B", ""}},
		},
		"the last line of a name wins, in the order of the first": {
			content: "A=1\nB=2\nA=3\n",
			want:    []Param{{"A", "3"}, {"B", "2"}},
		},
		"Windows line ends": {
			content: "A=1\r\nB=2\r\n",
			want:    []Param{{"A", "1"}, {"B", "2"}},
		},
		"a line without a separator": {
			content: "A=1\njust text\n",
			wantErr: `Cannot read variables from file "params.env": Can't separate key from value`,
		},
		"a bad name, with its value": {
			content: "A=1\n1B=2\n",
			wantErr: "invalid parameter assignment in 1B=2",
		},
		"a very long line": {
			content: "A=" + strings.Repeat("x", 200_000) + "\n",
			want:    []Param{{"A", strings.Repeat("x", 200_000)}},
		},
		"empty": {content: "", want: []Param{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseParamFile(ParamFile{Name: "params.env", Data: []byte(tc.content)})
			if errorText(err) != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCombineParams(t *testing.T) {
	cases := map[string]struct {
		flags        []Param
		files        []ParamFile
		want         []Param
		wantWarnings []string
		wantErr      string
	}{
		"the command line wins over a file, with oc's warning": {
			flags: []Param{{"A", "flag"}},
			files: []ParamFile{{Name: "f.env", Data: []byte("A=file\nB=file\n")}},
			want:  []Param{{"A", "flag"}, {"B", "file"}},
			wantWarnings: []string{
				`warning: Template parameter "A" already defined, ignoring value from file "f.env"`,
			},
		},
		"an earlier file wins over a later one, the warning naming the later": {
			files: []ParamFile{
				{Name: "first.env", Data: []byte("A=first\n")},
				{Name: "-", Data: []byte("A=stdin\nC=stdin\n")},
			},
			want:         []Param{{"A", "first"}, {"C", "stdin"}},
			wantWarnings: []string{`warning: Template parameter "A" already defined, ignoring value from file "-"`},
		},
		"repeated command-line names are kept for SetParameters": {
			flags: []Param{{"A", "1"}, {"A", "2"}},
			files: []ParamFile{{Name: "f.env", Data: []byte("A=3\n")}},
			want:  []Param{{"A", "1"}, {"A", "2"}},
			wantWarnings: []string{
				`warning: Template parameter "A" already defined, ignoring value from file "f.env"`,
			},
		},
		"a broken file stops, returning the warnings so far": {
			files: []ParamFile{
				{Name: "ok.env", Data: []byte("A=1\nA=2\n")},
				{Name: "again.env", Data: []byte("A=3\n")},
				{Name: "-", Data: []byte("broken\n")},
			},
			wantWarnings: []string{`warning: Template parameter "A" already defined, ignoring value from file "again.env"`},
			wantErr:      `Cannot read variables from file "stdin": Can't separate key from value`,
		},
		"no files": {flags: []Param{{"A", "1"}}, want: []Param{{"A", "1"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, warnings, err := CombineParams(tc.flags, tc.files)
			if errorText(err) != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWarnings, warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadParamFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "params.env")
	if err := os.WriteFile(path, []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.env")
	cases := map[string]struct {
		name    string
		stdin   io.Reader
		want    ParamFile
		wantErr string
	}{
		"a file":                    {name: path, want: ParamFile{Name: path, Data: []byte("A=1\n")}},
		"standard input":            {name: "-", stdin: strings.NewReader("B=2\n"), want: ParamFile{Name: "-", Data: []byte("B=2\n")}},
		"a missing file":            {name: missing, wantErr: `Cannot stat "` + missing + `": stat ` + missing + `: no such file or directory`},
		"a directory":               {name: dir, wantErr: `Cannot read variables from "` + dir + `": is a directory`},
		"- with no stdin is a file": {name: "-", wantErr: `Cannot stat "-": stat -: no such file or directory`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ReadParamFile(tc.name, tc.stdin)
			if errorText(err) != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("file (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParamFilesEndToEnd follows `oc process -p A=flag --param-file f`: parse, combine, set, process.
func TestParamFilesEndToEnd(t *testing.T) {
	flags, err := ParseParams([]string{"A=flag"})
	if err != nil {
		t.Fatal(err)
	}
	params, warnings, err := CombineParams(flags, []ParamFile{{Name: "f", Data: []byte("A=file\nPASSWORD=\n")}})
	if err != nil || len(warnings) != 1 {
		t.Fatalf("CombineParams: %v, warnings %q", err, warnings)
	}
	tpl := decodeTemplate(t, withObjects(`[{"name": "A"}, {"name": "PASSWORD", "generate": "expression", "from": "[a-z]{8}"}]`,
		`{"kind": "ConfigMap", "apiVersion": "v1", "data": {"a": "${A}", "p": "${PASSWORD}"}}`))
	if err := SetParameters(tpl, params, false); err != nil {
		t.Fatal(err)
	}
	mustProcessTemplate(t, tpl)
	data := objectValue(t, tpl, 0).(map[string]interface{})["data"]
	if diff := cmp.Diff(map[string]interface{}{"a": "flag", "p": ""}, data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

func TestReadParamFileFromAFailingStdin(t *testing.T) {
	_, err := ReadParamFile("-", iotest.ErrReader(errors.New("broken pipe")))
	if want := `Cannot read variables from file "stdin": broken pipe`; errorText(err) != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
