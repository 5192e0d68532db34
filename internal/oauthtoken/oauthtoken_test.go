package oauthtoken

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	token, name, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, Prefix) || len(token) != len(Prefix)+43 {
		t.Errorf("token %q: want sha256~ and 43 base64url characters (32 bytes)", token)
	}
	if strings.Contains(name, strings.TrimPrefix(token, Prefix)) {
		t.Error("the record's name contains the token")
	}
	if again, ok := Name(token); !ok || again != name {
		t.Errorf("Name(token) = %q, %t; want %q as New said", again, ok, name)
	}
	other, _, _ := New()
	if other == token {
		t.Error("two tokens are equal")
	}
}

func TestName(t *testing.T) {
	cases := []struct {
		token, want string
		ok          bool
	}{
		// sha256("abc") in unpadded base64url.
		{"sha256~abc", "sha256~ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0", true},
		{"sha256~", "", false},
		{"abc", "", false},
		{"eyJhbGciOiJSUzI1NiJ9.e30.sig", "", false},
	}
	for _, c := range cases {
		got, ok := Name(c.token)
		if got != c.want || ok != c.ok {
			t.Errorf("Name(%q) = %q, %t; want %q, %t", c.token, got, ok, c.want, c.ok)
		}
	}
}
