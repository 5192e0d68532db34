package localcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTailFile(t *testing.T) {
	long := strings.Repeat(strings.Repeat("x", 99)+"\n", 2000) + "last-but-one\nlast\n"
	cases := map[string]struct {
		content string
		n       int
		want    string
	}{
		"fewer lines than asked": {content: "a\nb\n", n: 5, want: "a\nb"},
		"last n lines":           {content: "a\nb\nc\nd\n", n: 2, want: "c\nd"},
		"no trailing newline":    {content: "a\nb", n: 1, want: "b"},
		"beyond the read window": {content: long, n: 2, want: "last-but-one\nlast"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := tailFile(path, tc.n); got != tc.want {
				t.Fatalf("tailFile = %q, want %q", got, tc.want)
			}
		})
	}
}
