// Package nodewebsites runs Websites end to end on the node, served by the CRD and then by
// kubia-apiserver (harness.WithWebsiteModes): real pods syncing from a Git server on this
// machine, their sites fetched over node ports.
package nodewebsites

import (
	"testing"
	"time"

	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) {
	harness.Main(m, harness.WithNode(images.Nginx, images.Sync), harness.WithWebsiteModes())
}

const timeout = 2 * time.Minute
