// Package startertemplates puts Kubia's starter catalog (package templates) into the
// namespace of shared templates, as OpenShift's samples operator puts its own into
// namespace "openshift": `oc new-app --template` and `kubia new-app` find them there.
package startertemplates

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// FieldOwner owns the fields of the starter templates: a user's own additions to one (a
// label, say) survive the next install, while the fields Kubia writes are Kubia's.
const FieldOwner = "kubia-starter-templates"

// Installer applies the starter templates once, when its manager leads, retrying until
// template.openshift.io is served (kubia-apiserver may start after the manager). It
// does not fight a user who deletes or edits one afterwards: the next start of the
// manager (an upgrade) applies them again.
type Installer struct {
	Client    client.Client
	Namespace string
	// Manifests returns the templates' YAML (templates.Manifests).
	Manifests func() ([][]byte, error)
	Log       logr.Logger
	// MaxRetryInterval bounds the wait between attempts; 0 means a minute.
	MaxRetryInterval time.Duration
}

// NeedLeaderElection makes only the leader apply: replicas would only repeat it.
func (i *Installer) NeedLeaderElection() bool { return true }

// Start applies the templates, retrying with backoff until it succeeds or ctx ends.
func (i *Installer) Start(ctx context.Context) error {
	templates, err := i.decode()
	if err != nil {
		return err // the embedded catalog is broken: a build defect, not a retry
	}
	interval := min(time.Second, i.maxRetryInterval())
	for attempt := 1; ; attempt++ {
		err := i.applyAll(ctx, templates)
		if err == nil {
			break
		}
		// The first failures are expected while kubia-apiserver starts.
		i.Log.Info("Starter templates not installed yet; retrying", "namespace", i.Namespace, "attempt", attempt, "in", interval, "reason", err.Error())
		select {
		case <-ctx.Done():
			return nil // stopped before they could be installed: the next start tries again
		case <-time.After(interval):
		}
		interval = min(2*interval, i.maxRetryInterval())
	}
	i.Log.Info("Installed the starter templates", "namespace", i.Namespace, "templates", len(templates))
	return nil
}

func (i *Installer) maxRetryInterval() time.Duration {
	if i.MaxRetryInterval > 0 {
		return i.MaxRetryInterval
	}
	return time.Minute
}

// decode reads every manifest as an unstructured Template of i.Namespace.
func (i *Installer) decode() ([]*unstructured.Unstructured, error) {
	manifests, err := i.Manifests()
	if err != nil {
		return nil, fmt.Errorf("reading the starter templates: %w", err)
	}
	out := make([]*unstructured.Unstructured, 0, len(manifests))
	for _, m := range manifests {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(m, &u.Object); err != nil {
			return nil, fmt.Errorf("decoding a starter template: %w", err)
		}
		if u.GetKind() != "Template" || u.GetName() == "" {
			return nil, fmt.Errorf("a starter template is a %q named %q, want a named Template", u.GetKind(), u.GetName())
		}
		u.SetNamespace(i.Namespace)
		out = append(out, u)
	}
	return out, nil
}

// applyAll server-side applies every template; ForceOwnership takes back the fields a
// user changed, as an upgrade must.
func (i *Installer) applyAll(ctx context.Context, templates []*unstructured.Unstructured) error {
	for _, t := range templates {
		apply := client.ApplyConfigurationFromUnstructured(t.DeepCopy())
		if err := i.Client.Apply(ctx, apply, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying Template %s/%s: %w", i.Namespace, t.GetName(), err)
		}
	}
	return nil
}
