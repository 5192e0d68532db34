// Package syncstatus is what kubia-sync serves over HTTP: its paths, the JSON of GET
// /status, and the redaction of the errors it reports. It stays free of Git libraries so
// the Website controller, which reads the status, does not link them.
package syncstatus

import (
	"regexp"
	"strings"
	"time"
)

// Port is where kubia-sync listens in a Website's pod.
const Port = 8081

// The paths kubia-sync serves.
const (
	// HealthzPath answers 200 once a revision is published: the readiness probe.
	HealthzPath = "/healthz"
	// StatusPath answers the Status.
	StatusPath = "/status"
	// WebhookPath is the push webhook (POST).
	WebhookPath = "/sync"
	// SiteWebhookPath is the push webhook on the site's own port, where Kubia's nginx
	// passes it to kubia-sync: a path no static site is likely to use.
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

// maxErrorLength bounds a reported error: it is kept in two conditions of the Website
// and quoted in an event.
const maxErrorLength = 512

// urlUserinfo matches the userinfo of URLs (a password, or a token given as the user name).
var urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@`)

// localAddress matches the local end of a connection in Go's network errors ("read tcp
// 10.0.0.5:54321->…"): its port changes with every try, and the same failure should read
// the same each time.
var localAddress = regexp.MustCompile(`\b(tcp[46]?|udp[46]?) [0-9A-Fa-f.:\[\]%]+->`)

// Redact makes an error fit to be shown: the userinfo of every URL in text hidden, then
// every occurrence of the given secrets (passwords, tokens); the local end of connections
// left out; and the length bounded.
func Redact(text string, secrets ...string) string {
	text = urlUserinfo.ReplaceAllString(text, "${1}***@")
	for _, secret := range secrets {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "***")
		}
	}
	text = localAddress.ReplaceAllString(text, "${1} ")
	return Truncate(text, maxErrorLength)
}

// Truncate cuts text to at most max bytes, on a character boundary, marking the cut with "…".
func Truncate(text string, max int) string {
	if len(text) <= max {
		return text
	}
	const ellipsis = "…"
	return strings.ToValidUTF8(text[:max-len(ellipsis)], "") + ellipsis
}
