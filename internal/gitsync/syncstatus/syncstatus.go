// Package syncstatus is what kubia-sync serves over HTTP: its paths, the JSON of GET
// /status, and the redaction of the errors it reports. It stays free of Git libraries so
// the Website controller, which reads the status, does not link them.
package syncstatus

import (
	"regexp"
	"strings"
	"time"
)

// The paths kubia-sync serves.
const (
	// HealthzPath answers 200 once a revision is published: the readiness probe.
	HealthzPath = "/healthz"
	// StatusPath answers the Status.
	StatusPath = "/status"
	// WebhookPath is the push webhook (POST) on kubia-sync's own port.
	WebhookPath = "/sync"
	// SiteWebhookPath is the push webhook as a Website's Ingress routes it: a path of the
	// site's own host that no static site is likely to use.
	SiteWebhookPath = "/.kubia/sync"
)

// Status is the JSON of GET /status.
type Status struct {
	// Commit is the published revision, "" before the first successful sync.
	Commit string `json:"commit,omitempty"`
	// LastSync is when a sync last succeeded.
	LastSync time.Time `json:"lastSync,omitzero"`
	// LastError is why the last sync failed, redacted; "" when it succeeded.
	LastError string `json:"lastError,omitempty"`
}

// maxErrorLength bounds a reported error: it ends up in a condition message and events.
const maxErrorLength = 1024

// urlUserinfo matches the userinfo of URLs (a password, or a token given as the user name).
var urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@`)

// Redact hides what must never be shown of an error: the userinfo of every URL in text,
// and every occurrence of the given secrets (passwords, tokens). It also bounds the text's
// length.
func Redact(text string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "***")
		}
	}
	text = urlUserinfo.ReplaceAllString(text, "${1}***@")
	if len(text) > maxErrorLength {
		text = strings.ToValidUTF8(text[:maxErrorLength], "") + "…"
	}
	return text
}
