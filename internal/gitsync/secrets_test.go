package gitsync

import (
	"slices"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// The values errors must not show are the password, or the user name where it carries a
// token (no password, or GitHub's x-oauth-basic).
func TestSecretsOfAuth(t *testing.T) {
	cases := map[string]struct {
		auth transport.AuthMethod
		want []string
	}{
		"none":                     {nil, nil},
		"user and password":        {&githttp.BasicAuth{Username: "reader", Password: "pw"}, []string{"pw"}},
		"token as the password":    {&githttp.BasicAuth{Username: "kubia", Password: "ghp_1"}, []string{"ghp_1"}},
		"token as the user name":   {&githttp.BasicAuth{Username: "ghp_2"}, []string{"ghp_2"}},
		"token with x-oauth-basic": {&githttp.BasicAuth{Username: "ghp_3", Password: "x-oauth-basic"}, []string{"ghp_3"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := (&Syncer{Auth: tc.auth}).secrets(); !slices.Equal(got, tc.want) {
				t.Errorf("secrets = %q, want %q", got, tc.want)
			}
		})
	}
}
