// Package apiserver_test checks kubia-apiserver through the real kube-aggregator: Websites
// served from its own etcd, in both of its versions, with kube-apiserver's authentication
// and authorization.
package apiserver_test

import (
	"testing"

	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m, harness.WithCRDs(), harness.WithAPIServer()) }
