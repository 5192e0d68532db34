package syncstatus

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	cases := map[string]struct {
		text    string
		secrets []string
		want    string
	}{
		"user and password": {
			text: `listing https://reader:s3cret@git.example/site.git: authentication required`,
			want: `listing https://***@git.example/site.git: authentication required`,
		},
		"token as the user name": {
			text: `cloning https://ghp_abc123@github.com/o/r.git: repository not found`,
			want: `cloning https://***@github.com/o/r.git: repository not found`,
		},
		"several URLs, other schemes": {
			text: `Get "http://u:p@a/x": redirected to ssh://git@b/y`,
			want: `Get "http://***@a/x": redirected to ssh://***@b/y`,
		},
		"a secret anywhere": {
			text:    `server said: bad token tok-42 for user kubia`,
			secrets: []string{"tok-42", ""},
			want:    `server said: bad token *** for user kubia`,
		},
		"scp-style URLs name a user only": {
			text: `listing git@github.com:o/r.git: ssh: handshake failed`,
			want: `listing git@github.com:o/r.git: ssh: handshake failed`,
		},
		"the local end of a connection": {
			text: `listing https://git.example/x.git: read tcp 10.0.0.5:54321->192.0.2.1:443: read: connection reset by peer`,
			want: `listing https://git.example/x.git: read tcp 192.0.2.1:443: read: connection reset by peer`,
		},
		"a secret in a URL's userinfo and elsewhere": {
			text:    `Get "https://user:pw-1@host/x": pw-1 refused`,
			secrets: []string{"pw-1"},
			want:    `Get "https://***@host/x": *** refused`,
		},
		"an email address is not a URL": {
			text: `commit by someone@example.org`,
			want: `commit by someone@example.org`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Redact(tc.text, tc.secrets...); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestRedactBoundsLength(t *testing.T) {
	got := Redact(strings.Repeat("é", 2*maxErrorLength))
	if len(got) > maxErrorLength || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "é") {
		t.Fatalf("Redact of a long text: %d bytes, ends %q", len(got), got[len(got)-4:])
	}
	for _, r := range got {
		if r == '\uFFFD' {
			t.Fatal("cut inside a character")
		}
	}
	if got := Truncate("short", 10); got != "short" {
		t.Errorf("Truncate of a short text = %q", got)
	}
}
