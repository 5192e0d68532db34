// Package charts embeds Kubia's Helm chart, so `kubia up` installs the chart it was built
// with.
package charts

import "embed"

// FS holds the chart under kubia/.
//
//go:embed all:kubia
var FS embed.FS
