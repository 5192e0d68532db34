// Package nodeapiserver installs Kubia's Helm chart in aggregated mode on the node, the
// way the README tells users to on any cluster (the Service Catalog's CRDs applied, the
// chart's skipped), with a three-member etcd, and breaks it: etcd members and
// kubia-apiserver's pods killed, the whole etcd stopped, the serving certificate rotated;
// and instantiates the starter catalog's PostgreSQL with `kubia new-app`; and serves Routes
// through the chart's kubia-router on the node's ports 80 and 443.
package nodeapiserver

import (
	"testing"
	"time"

	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/sourcetree"
	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) {
	harness.Main(m, harness.WithNode(images.Nginx, images.Sync, images.ControllerManager, images.Broker, images.APIServer, images.Etcd, images.PostgreSQL,
		images.Router, echoServer))
}

// echoServer is the router tests' backend, test/echoserver. Its signature is an
// images.Builder's.
func echoServer(string) (images.Image, error) {
	root, err := sourcetree.Root()
	if err != nil {
		return images.Image{}, err
	}
	return images.Program(root, "./test/echoserver", "echoserver")
}

const (
	timeout        = 3 * time.Minute
	chartNamespace = "kubia-system"
)
