// Package oauthtoken makes the bearer tokens kubia-apiserver hands out at login and names
// their records, as OpenShift's OAuth server does: a token is "sha256~" and 32 random bytes
// in unpadded base64url; its OAuthAccessToken is named "sha256~" and the base64url SHA-256
// of the part after the prefix. The record holds only the hash, so reading etcd (or a
// backup, or `oc get oauthaccesstokens`) yields no usable token, and a token is found by
// hashing it — never by comparing secrets.
package oauthtoken

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Prefix starts every token and every record's name.
const Prefix = "sha256~"

// New returns a fresh token and the name of its record.
func New() (token, name string, err error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", "", fmt.Errorf("reading random bytes: %w", err)
	}
	token = Prefix + base64.RawURLEncoding.EncodeToString(secret)
	name, _ = Name(token)
	return token, name, nil
}

// Name is the name of token's record; ok is false for a string that is not a token of this
// kind (a service account's JWT, say), which has no record.
func Name(token string) (name string, ok bool) {
	secret, ok := strings.CutPrefix(token, Prefix)
	if !ok || secret == "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(secret))
	return Prefix + base64.RawURLEncoding.EncodeToString(sum[:]), true
}
