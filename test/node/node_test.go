// Package node tests the local node: pods run from images built here, Services answer,
// cluster DNS resolves. It is the one test package that owns the machine's node.
package node

import (
	"testing"

	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) {
	harness.Main(m, harness.WithNode())
}

func TestNodeIsReady(t *testing.T) {
	harness.RequireNode(t)
}
