package pgbroker

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/kubia-dev/kubia/internal/osb"
)

// Update changes an instance's plan. The plans differ in storage (an emptyDir or a
// volume claim, which a StatefulSet cannot change), so the data moves to a new server of
// the new plan: the old one turns read-only, a Job copies everything (pg_dumpall, roles
// with their passwords included, so bindings keep working), the Service switches to the
// new server and the old one is deleted.
func (b *Broker) Update(ctx context.Context, req *osb.Request, body *osb.UpdateRequest) (osb.Response, error) {
	if !req.AcceptsIncomplete {
		return osb.Response{}, asyncRequired("changing a PostgreSQL server's plan")
	}
	inst, err := b.getInstance(ctx, req.InstanceID)
	if err != nil {
		return osb.Response{}, err
	}
	switch {
	case inst == nil || inst.op.Kind == opDeprovision:
		return osb.Response{}, osb.Errorf(http.StatusGone, "", "instance %s does not exist", req.InstanceID)
	case inst.op.State == osb.StateInProgress:
		return osb.Response{}, busy(inst)
	case inst.op.Kind == opProvision && inst.op.State == osb.StateFailed:
		return osb.Response{}, osb.Errorf(http.StatusUnprocessableEntity, "", "instance %s failed to provision: %s", inst.id, inst.op.Description)
	}
	if body.PlanID == "" || body.PlanID == inst.planID {
		return osb.Response{Status: http.StatusOK, Body: osb.OperationResponse{}}, nil
	}
	op := newOperation(opUpdate)
	op.FromPlanID = inst.planID
	inst.op, inst.planID = op, body.PlanID
	if err := b.saveInstance(ctx, inst); err != nil {
		if apierrors.IsConflict(err) {
			return osb.Response{}, osb.Errorf(http.StatusUnprocessableEntity, osb.ErrConcurrencyError, "instance %s changed meanwhile; try again", inst.id)
		}
		return osb.Response{}, err
	}
	b.log.Info("Changing plan", "instance", inst.id, "from", plans[op.FromPlanID].name, "to", plans[inst.planID].name, "operation", op.ID)
	return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: op.ID}}, nil
}

// advanceUpdate takes a plan change one step further. Each step looks at the cluster to
// know whether it is done, so any broker may carry on after another stopped.
func (b *Broker) advanceUpdate(ctx context.Context, inst *instance) error {
	from, to := plans[inst.op.FromPlanID], plans[inst.planID]
	svc := &corev1.Service{}
	if err := b.client.Get(ctx, client.ObjectKey{Namespace: b.namespace, Name: instanceName(inst.id)}, svc); err != nil {
		return fmt.Errorf("reading the instance's Service: %w", err)
	}
	if svc.Spec.Selector[labelPlan] == to.name {
		return b.finishUpdate(ctx, inst, from)
	}
	if err := b.ensureServer(ctx, inst); err != nil {
		return err
	}
	toAddr, err := b.serverPodAddress(ctx, inst, to)
	if errors.Is(err, errServerNotReady) {
		inst.op.Description = "Starting the " + to.name + " plan's server"
		return b.failIfStuck(ctx, inst, to)
	}
	if err != nil {
		return err
	}
	fromAddr, err := b.serverPodAddress(ctx, inst, from)
	if err != nil {
		return fmt.Errorf("the %s plan's server: %w", from.name, err)
	}
	job, err := b.moveJob(ctx, inst, fromAddr, toAddr)
	if err != nil {
		return err
	}
	switch {
	case job.Status.Succeeded > 0:
		// From now on the instance is the new server.
		svc.Spec.Selector = serverLabels(inst.id, to)
		if err := b.client.Update(ctx, svc); err != nil {
			return fmt.Errorf("switching the instance's Service to the %s plan's server: %w", to.name, err)
		}
		return b.finishUpdate(ctx, inst, from)
	case job.Status.Failed > 0:
		return b.abandonUpdate(ctx, inst, fromAddr, "copying the data to the "+to.name+" plan's server failed")
	}
	inst.op.Description = "Copying the data to the " + to.name + " plan's server"
	return nil
}

// failIfStuck gives up a plan change whose new server cannot start.
func (b *Broker) failIfStuck(ctx context.Context, inst *instance, to plan) error {
	failure, err := b.serverFailure(ctx, inst, to)
	if err != nil || failure == "" {
		return err
	}
	fromAddr, err := b.serverPodAddress(ctx, inst, plans[inst.op.FromPlanID])
	if err != nil {
		return err
	}
	return b.abandonUpdate(ctx, inst, fromAddr, failure)
}

// finishUpdate deletes the old server once the Service points at the new one.
// The update succeeds only when clients can no longer reach the old, read-only server:
// its pod is gone, and a connection through the Service finds a writable server.
func (b *Broker) finishUpdate(ctx context.Context, inst *instance, from plan) error {
	old := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: b.namespace, Name: serverName(inst.id, from)}}
	if err := b.client.Delete(ctx, old, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the %s plan's server: %w", from.name, err)
	}
	var pods corev1.PodList
	if err := b.client.List(ctx, &pods, client.InNamespace(b.namespace), client.MatchingLabels(serverLabels(inst.id, from))); err != nil {
		return fmt.Errorf("listing the %s plan's server pods: %w", from.name, err)
	}
	inst.op.Description = "Stopping the " + from.name + " plan's server"
	if len(pods.Items) > 0 {
		return nil
	}
	writable, err := b.serviceWritable(ctx, inst)
	if err != nil || !writable {
		return nil // kube-proxy has not caught up yet: look again at the next poll
	}
	inst.op.State, inst.op.Description = osb.StateSucceeded, "Moved to the "+plans[inst.planID].name+" plan"
	return nil
}

// serviceWritable tells whether a connection through the instance's Service reaches a
// server that accepts writes.
func (b *Broker) serviceWritable(ctx context.Context, inst *instance) (bool, error) {
	conn, err := b.connect(ctx, inst, database)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	var readOnly string
	if err := conn.QueryRow(ctx, "SHOW default_transaction_read_only").Scan(&readOnly); err != nil {
		return false, err
	}
	return readOnly == "off", nil
}

// abandonUpdate keeps the instance on its old plan, writable again, and reports why.
func (b *Broker) abandonUpdate(ctx context.Context, inst *instance, fromAddr, why string) error {
	for _, stmt := range []string{"ALTER SYSTEM RESET default_transaction_read_only", "SELECT pg_reload_conf()"} {
		if err := b.execOn(ctx, inst, fromAddr, stmt); err != nil {
			return err
		}
	}
	failed := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: b.namespace, Name: serverName(inst.id, plans[inst.planID])}}
	if err := b.client.Delete(ctx, failed, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	inst.planID = inst.op.FromPlanID
	inst.op.State, inst.op.Description = osb.StateFailed, why+"; the instance stays on the "+plans[inst.planID].name+" plan"
	return nil
}

// serverPodAddress is the pod IP of a plan's server once it accepts connections.
func (b *Broker) serverPodAddress(ctx context.Context, inst *instance, p plan) (string, error) {
	pod := &corev1.Pod{}
	err := b.client.Get(ctx, client.ObjectKey{Namespace: b.namespace, Name: serverName(inst.id, p) + "-0"}, pod)
	if apierrors.IsNotFound(err) {
		return "", errServerNotReady
	}
	if err != nil {
		return "", err
	}
	if pod.Status.PodIP == "" || !podReady(pod) {
		return "", errServerNotReady
	}
	if err := b.execOn(ctx, inst, pod.Status.PodIP, "SELECT 1"); err != nil {
		return "", err
	}
	return pod.Status.PodIP, nil
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// execOn runs one statement as the superuser on the server at addr.
func (b *Broker) execOn(ctx context.Context, inst *instance, addr, stmt string) error {
	conn, err := b.connectTo(ctx, inst, addr, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("on %s: %w", addr, err)
	}
	return nil
}

// moveJob returns the Job copying the old server's data into the new one, creating it
// (after making the old server read-only and ending its sessions) the first time.
func (b *Broker) moveJob(ctx context.Context, inst *instance, fromAddr, toAddr string) (*batchv1.Job, error) {
	job := &batchv1.Job{}
	name := instanceName(inst.id) + "-move-" + inst.op.ID[len(opUpdate)+1:]
	err := b.client.Get(ctx, client.ObjectKey{Namespace: b.namespace, Name: name}, job)
	if err == nil || !apierrors.IsNotFound(err) {
		return job, err
	}
	// Read-only for the whole server (ALTER SYSTEM, which no dump copies), then the open
	// sessions ended, so nothing written after the copy starts is lost.
	for _, stmt := range []string{
		"ALTER SYSTEM SET default_transaction_read_only = on",
		"SELECT pg_reload_conf()",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + literal(database) + " AND pid <> pg_backend_pid()",
	} {
		if err := b.execOn(ctx, inst, fromAddr, stmt); err != nil {
			return nil, err
		}
	}
	job = b.moveJobSpec(inst, name, fromAddr, toAddr)
	if err := controllerutil.SetControllerReference(inst.secret, job, b.client.Scheme()); err != nil {
		return nil, err
	}
	if err := b.client.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating the Job that moves the data: %w", err)
	}
	return job, nil
}

func (b *Broker) moveJobSpec(inst *instance, name, fromAddr, toAddr string) *batchv1.Job {
	password := corev1.EnvVar{Name: "PGPASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: inst.secret.Name}, Key: "password"}}}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.namespace, Labels: instanceLabels(inst.id)},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](2),
			TTLSecondsAfterFinished: ptr.To[int32](3600),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: instanceLabels(inst.id)},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: ptr.To(false),
					EnableServiceLinks:           ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  "move",
						Image: b.image,
						// The roles first (with their password hashes, so bindings keep
						// working; the superuser, which exists, is the one expected error),
						// then the database, where any error fails the copy.
						Command: []string{"sh", "-c", `set -e
pg_dumpall -h "$FROM" -U postgres --roles-only > /tmp/roles.sql
psql -h "$TO" -U postgres -d postgres -q -f /tmp/roles.sql > /dev/null 2>/tmp/roles.err || true
pg_dump -h "$FROM" -U postgres -d ` + database + ` --create > /tmp/app.sql
psql -h "$TO" -U postgres -d postgres -q -v ON_ERROR_STOP=1 -f /tmp/app.sql > /dev/null`},
						Env: []corev1.EnvVar{password, {Name: "FROM", Value: fromAddr}, {Name: "TO", Value: toAddr}},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
}
