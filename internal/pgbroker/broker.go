package pgbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/kubia-dev/kubia/internal/osb"
)

// Options configure the broker.
type Options struct {
	// Namespace is where instances' servers live; the broker owns it.
	Namespace string
	// Image is the PostgreSQL image (Kubia's localhost/kubia/postgres:local).
	Image string
	// StorageClass of the premium plan's data volumes; nil is the cluster's default.
	StorageClass *string
	// ClusterDomain completes the instances' DNS names (cluster.local).
	ClusterDomain string
}

// Broker provisions PostgreSQL servers and login roles; it implements osb.Broker.
type Broker struct {
	client        client.Client
	namespace     string
	image         string
	storageClass  *string
	clusterDomain string
	log           logr.Logger
}

// New returns a broker acting through c, which must know core and apps types.
func New(c client.Client, opts Options, log logr.Logger) *Broker {
	return &Broker{client: c, namespace: opts.Namespace, image: opts.Image, storageClass: opts.StorageClass,
		clusterDomain: opts.ClusterDomain, log: log}
}

var _ osb.Broker = (*Broker)(nil)

// Timings of asynchronous operations.
const (
	// provisionTimeout is how long a server may take to accept connections before its
	// provisioning is reported failed.
	provisionTimeout = 10 * time.Minute
	// pollAfter is the Retry-After of operations in progress.
	pollAfter = 2 * time.Second
)

func asyncRequired(what string) error {
	return osb.Errorf(http.StatusUnprocessableEntity, osb.ErrAsyncRequired,
		"%s takes a while: this broker needs accepts_incomplete=true", what)
}

func busy(inst *instance) error {
	return osb.Errorf(http.StatusUnprocessableEntity, osb.ErrConcurrencyError,
		"another operation (%s) of instance %s is in progress", inst.op.Kind, inst.id)
}

// Provision creates the instance's record, then its server; the server's start is
// followed by LastOperation and Run.
func (b *Broker) Provision(ctx context.Context, req *osb.Request, body *osb.ProvisionRequest) (osb.Response, error) {
	if _, err := initdbArgs(body.Parameters); err != nil {
		return osb.Response{}, err
	}
	if !req.AcceptsIncomplete {
		return osb.Response{}, asyncRequired("provisioning a PostgreSQL server")
	}
	inst, err := b.getInstance(ctx, req.InstanceID)
	if err != nil {
		return osb.Response{}, err
	}
	if inst != nil {
		return repeatedProvision(inst, body)
	}
	inst = &instance{
		secret: &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: instanceName(req.InstanceID), Namespace: b.namespace, Annotations: map[string]string{},
				Labels: map[string]string{LabelManagedBy: managedBy, LabelInstance: hashID(req.InstanceID), labelRecord: recordInstance}},
			Data: map[string][]byte{"password": []byte(randomHex(24))},
		},
		id: req.InstanceID, serviceID: body.ServiceID, planID: body.PlanID, parameters: body.Parameters,
		organizationGUID: body.OrganizationGUID, spaceGUID: body.SpaceGUID,
		op: newOperation(opProvision),
	}
	if err := inst.encode(); err != nil {
		return osb.Response{}, err
	}
	if err := b.client.Create(ctx, inst.secret); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return osb.Response{}, osb.Errorf(http.StatusUnprocessableEntity, osb.ErrConcurrencyError, "instance %s is being provisioned by another request", req.InstanceID)
		}
		return osb.Response{}, fmt.Errorf("creating the record of instance %s: %w", req.InstanceID, err)
	}
	b.log.Info("Provisioning", "instance", inst.id, "plan", plans[inst.planID].name, "operation", inst.op.ID)
	if err := b.ensureServer(ctx, inst); err != nil {
		// The record exists: polling and the background loop create what is missing.
		b.log.Error(err, "Creating the server failed; it is retried", "instance", inst.id)
	}
	return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: inst.op.ID}}, nil
}

// repeatedProvision answers a PUT for an instance that exists.
func repeatedProvision(inst *instance, body *osb.ProvisionRequest) (osb.Response, error) {
	if inst.op.Kind == opDeprovision || inst.secret.DeletionTimestamp != nil {
		return osb.Response{}, busy(inst)
	}
	if differ := differingAttributes(inst, body); len(differ) > 0 {
		return osb.Response{}, osb.Errorf(http.StatusConflict, "", "instance %s exists with other attributes: %s", inst.id, strings.Join(differ, ", "))
	}
	switch {
	case inst.op.Kind == opProvision && inst.op.State == osb.StateInProgress:
		return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: inst.op.ID}}, nil
	case inst.op.Kind == opProvision && inst.op.State == osb.StateFailed:
		return osb.Response{}, osb.Errorf(http.StatusConflict, "", "instance %s exists and its provisioning failed (%s); deprovision it first", inst.id, inst.op.Description)
	case inst.op.State == osb.StateInProgress:
		return osb.Response{}, busy(inst)
	}
	return osb.Response{Status: http.StatusOK, Body: osb.OperationResponse{}}, nil
}

// differingAttributes names the fields in which a repeated provisioning asks for
// something other than the record holds. A record without organization_guid or
// space_guid (written before the broker recorded them) has nothing to compare them with:
// any value matches, and the record is not changed.
func differingAttributes(inst *instance, body *osb.ProvisionRequest) []string {
	var differ []string
	for _, a := range []struct {
		name string
		same bool
	}{
		{"service_id", inst.serviceID == body.ServiceID},
		{"plan_id", inst.planID == body.PlanID},
		{"organization_guid", inst.organizationGUID == "" || inst.organizationGUID == body.OrganizationGUID},
		{"space_guid", inst.spaceGUID == "" || inst.spaceGUID == body.SpaceGUID},
		{"parameters", sameParameters(inst.parameters, body.Parameters)},
	} {
		if !a.same {
			differ = append(differ, a.name)
		}
	}
	return differ
}

// sameParameters compares parameters as JSON, in which nil and {} are alike.
func sameParameters(a, b map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// LastOperation reports the instance's operation, first advancing it as far as the
// cluster allows.
func (b *Broker) LastOperation(ctx context.Context, req *osb.Request, q osb.OperationQuery) (osb.Response, error) {
	if q.Operation == "" {
		// Every asynchronous answer of this broker names its operation, which the
		// specification says platforms must send back.
		return osb.Response{}, osb.Errorf(http.StatusBadRequest, "", "the query parameter operation is required")
	}
	inst, err := b.getInstance(ctx, req.InstanceID)
	if err != nil {
		return osb.Response{}, err
	}
	if inst == nil {
		return b.lastOperationOfGone(ctx, req.InstanceID, q.Operation)
	}
	if q.Operation != inst.op.ID {
		if q.Operation == inst.op.Interrupted {
			return lastOperationResponse(operation{State: osb.StateFailed, Description: "Interrupted: the instance is being deprovisioned"}), nil
		}
		return osb.Response{}, osb.Errorf(http.StatusBadRequest, "", "operation %q is not instance %s's last operation", q.Operation, inst.id)
	}
	if inst.op.State == osb.StateInProgress {
		if err := b.advance(ctx, inst); err != nil {
			return osb.Response{}, err
		}
		// Answer what is recorded: when the resync loop advanced the operation at the
		// same time, this request's own result was not saved.
		if inst, err = b.getInstance(ctx, req.InstanceID); err != nil {
			return osb.Response{}, err
		}
		if inst == nil {
			return b.lastOperationOfGone(ctx, req.InstanceID, q.Operation)
		}
	}
	return lastOperationResponse(inst.op), nil
}

func lastOperationResponse(op operation) osb.Response {
	resp := osb.Response{Status: http.StatusOK, Body: osb.LastOperationResponse{State: op.State, Description: op.Description}}
	if op.State == osb.StateInProgress {
		resp.RetryAfter = pollAfter
	}
	return resp
}

// lastOperationOfGone answers for an instance without a record. Its tombstone, while
// it lasts, says it was deprovisioned: the deprovisioning is in progress while anything
// of the instance is left, then succeeded; any other of its operations is gone (410).
// Without a tombstone the broker knows no such instance (it never existed, or its
// tombstone expired): 404, the specification's answer for polling one that does not exist.
func (b *Broker) lastOperationOfGone(ctx context.Context, instanceID, operationID string) (osb.Response, error) {
	tomb, err := b.getTombstone(ctx, instanceID)
	if err != nil {
		return osb.Response{}, err
	}
	if tomb == nil {
		return osb.Response{}, osb.Errorf(http.StatusNotFound, "", "instance %s does not exist", instanceID)
	}
	if operationID != tomb.operationID {
		return osb.Response{}, osb.Errorf(http.StatusGone, "", "instance %s was deprovisioned", instanceID)
	}
	left, err := b.leftovers(ctx, instanceID)
	if err != nil {
		return osb.Response{}, err
	}
	if left != "" {
		return lastOperationResponse(operation{State: osb.StateInProgress, Description: "Deleting " + left}), nil
	}
	return lastOperationResponse(operation{State: osb.StateSucceeded, Description: "The instance and its data are deleted"}), nil
}

// leftovers names an object of the instance that still exists, or "".
func (b *Broker) leftovers(ctx context.Context, instanceID string) (string, error) {
	kinds := []struct {
		name string
		list client.ObjectList
	}{
		{"its server", &appsv1.StatefulSetList{}},
		{"its server's pods", &corev1.PodList{}},
		{"the Job moving its data", &batchv1.JobList{}},
		{"its data volume", &corev1.PersistentVolumeClaimList{}},
		{"its Service", &corev1.ServiceList{}},
		{"its bindings", &corev1.SecretList{}},
	}
	for _, k := range kinds {
		if err := b.client.List(ctx, k.list, client.InNamespace(b.namespace),
			client.MatchingLabels{LabelInstance: hashID(instanceID)}, client.Limit(1)); err != nil {
			return "", fmt.Errorf("listing what is left of instance %s: %w", instanceID, err)
		}
		if meta.LenList(k.list) > 0 {
			return k.name, nil
		}
	}
	return "", nil
}

// advance takes an operation in progress as far as it can go now and saves the result.
func (b *Broker) advance(ctx context.Context, inst *instance) error {
	before := inst.op
	var err error
	switch inst.op.Kind {
	case opProvision:
		err = b.advanceProvision(ctx, inst)
	case opUpdate:
		err = b.advanceUpdate(ctx, inst)
	case opDeprovision:
		err = b.deleteRecord(ctx, inst)
	}
	if apierrors.IsConflict(err) {
		return nil // a poll and the resync loop raced; the next look finds the winner's step
	}
	if err != nil || inst.op.Kind == opDeprovision {
		return err
	}
	if inst.op == before {
		return nil
	}
	err = b.saveInstance(ctx, inst)
	if apierrors.IsConflict(err) {
		return nil // another request advanced it; the next poll reads its result
	}
	if err == nil && inst.op.State != osb.StateInProgress {
		b.log.Info("Operation finished", "instance", inst.id, "operation", inst.op.ID, "state", inst.op.State, "description", inst.op.Description)
	}
	return err
}

func (b *Broker) advanceProvision(ctx context.Context, inst *instance) error {
	p := plans[inst.planID]
	if err := b.ensureServer(ctx, inst); err != nil {
		return err
	}
	failure, err := b.serverFailure(ctx, inst, p)
	if err != nil {
		return err
	}
	if failure == "" && time.Since(inst.op.Started.Time) > provisionTimeout {
		failure = fmt.Sprintf("the PostgreSQL server did not accept connections within %s", provisionTimeout)
	}
	if failure != "" {
		inst.op.State, inst.op.Description = osb.StateFailed, failure
		return nil
	}
	err = b.prepareDatabase(ctx, inst)
	if errors.Is(err, errServerNotReady) {
		// The error names the address and user, never the password.
		inst.op.Description = "Waiting for the PostgreSQL server to accept connections: " + err.Error()
		return nil
	}
	if err != nil {
		return err
	}
	inst.op.State, inst.op.Description = osb.StateSucceeded, fmt.Sprintf("PostgreSQL server (%s plan) ready", p.name)
	return nil
}

// Deprovision records the deprovisioning (tombstone first, so a crash right after still
// answers for it), then deletes the record; the garbage collector deletes what it owns.
func (b *Broker) Deprovision(ctx context.Context, req *osb.Request, _ osb.IDs) (osb.Response, error) {
	if !req.AcceptsIncomplete {
		return osb.Response{}, asyncRequired("deleting a PostgreSQL server")
	}
	inst, err := b.getInstance(ctx, req.InstanceID)
	if err != nil {
		return osb.Response{}, err
	}
	if inst == nil {
		return osb.Response{}, osb.Errorf(http.StatusGone, "", "instance %s does not exist", req.InstanceID)
	}
	if inst.op.Kind != opDeprovision {
		op := newOperation(opDeprovision)
		if inst.op.State == osb.StateInProgress {
			op.Interrupted = inst.op.ID // a DELETE during provisioning stops it
		}
		if err := b.writeTombstone(ctx, inst.id, op.ID); err != nil {
			return osb.Response{}, err
		}
		inst.op = op
		if err := b.saveInstance(ctx, inst); err != nil {
			if apierrors.IsConflict(err) {
				return osb.Response{}, osb.Errorf(http.StatusUnprocessableEntity, osb.ErrConcurrencyError, "instance %s changed meanwhile; try again", inst.id)
			}
			return osb.Response{}, err
		}
		b.log.Info("Deprovisioning", "instance", inst.id, "operation", op.ID, "interrupted", op.Interrupted)
	}
	if err := b.deleteRecord(ctx, inst); err != nil {
		return osb.Response{}, err
	}
	return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: inst.op.ID}}, nil
}

// deleteRecord deletes the instance's record in the foreground: it disappears once the
// objects it owns (server, Service, bindings) are gone.
func (b *Broker) deleteRecord(ctx context.Context, inst *instance) error {
	if inst.secret.DeletionTimestamp != nil {
		return nil
	}
	err := b.client.Delete(ctx, inst.secret, client.PropagationPolicy(metav1.DeletePropagationForeground))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting instance %s: %w", inst.id, err)
	}
	return nil
}

// GetInstance returns a provisioned instance's service, plan and parameters.
func (b *Broker) GetInstance(ctx context.Context, req *osb.Request) (osb.Response, error) {
	inst, err := b.getInstance(ctx, req.InstanceID)
	if err != nil {
		return osb.Response{}, err
	}
	switch {
	case inst == nil || inst.op.Kind == opDeprovision:
		return osb.Response{}, osb.Errorf(http.StatusNotFound, "", "instance %s does not exist", req.InstanceID)
	case inst.op.Kind == opProvision && inst.op.State != osb.StateSucceeded:
		return osb.Response{}, osb.Errorf(http.StatusNotFound, "", "instance %s is not provisioned (%s)", req.InstanceID, inst.op.State)
	case inst.op.State == osb.StateInProgress:
		return osb.Response{}, busy(inst)
	}
	return osb.Response{Status: http.StatusOK, Body: osb.InstanceResponse{ServiceID: inst.serviceID, PlanID: inst.planID, Parameters: inst.parameters}}, nil
}

// binding is a binding's record, decoded.
type binding struct {
	secret     *corev1.Secret
	parameters map[string]any
	// target is what the binding was made for (app_guid, bind_resource): a repeated
	// bind for another target is a conflict.
	target string
}

// annTarget records a binding's target.
const annTarget = "osb.kubia.dev/target"

func bindingTarget(body *osb.BindRequest) string {
	data, err := json.Marshal(struct {
		AppGUID      string         `json:"app_guid,omitempty"`
		BindResource map[string]any `json:"bind_resource,omitempty"`
	}{body.AppGUID, body.BindResource})
	if err != nil {
		return ""
	}
	return string(data)
}

func (b *Broker) getBinding(ctx context.Context, instanceID, bindingID string) (*binding, error) {
	secret := &corev1.Secret{}
	err := b.client.Get(ctx, client.ObjectKey{Namespace: b.namespace, Name: bindingName(instanceID, bindingID)}, secret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading binding %s: %w", bindingID, err)
	}
	if secret.Annotations[annBindingID] != bindingID || secret.Annotations[annInstanceID] != instanceID {
		return nil, nil
	}
	bd := &binding{secret: secret, target: secret.Annotations[annTarget]}
	if p := secret.Annotations[annParameters]; p != "" {
		if err := json.Unmarshal([]byte(p), &bd.parameters); err != nil {
			return nil, fmt.Errorf("binding %s: parameters: %w", bindingID, err)
		}
	}
	return bd, nil
}

// credentials are what a binding's application needs to connect.
func (b *Broker) credentials(instanceID string, secret *corev1.Secret) map[string]any {
	host, user, password := b.serviceHost(instanceID), string(secret.Data["username"]), string(secret.Data["password"])
	return map[string]any{
		"host": host, "port": postgresPort, "database": database,
		"username": user, "password": password, "uri": connectionURI(host, user, password),
	}
}

// bindableInstance returns the instance if bindings may be made or changed now.
func (b *Broker) bindableInstance(ctx context.Context, instanceID string) (*instance, error) {
	inst, err := b.getInstance(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	switch {
	case inst == nil || inst.op.Kind == opDeprovision:
		return nil, osb.Errorf(http.StatusGone, "", "instance %s does not exist", instanceID)
	case inst.op.State == osb.StateInProgress:
		return nil, busy(inst)
	case inst.op.Kind == opProvision && inst.op.State == osb.StateFailed:
		return nil, osb.Errorf(http.StatusUnprocessableEntity, "", "instance %s failed to provision: %s", instanceID, inst.op.Description)
	}
	return inst, nil
}

// Bind records the binding (so a crash leaves a record to unbind), then creates its
// login role, and returns the credentials.
func (b *Broker) Bind(ctx context.Context, req *osb.Request, body *osb.BindRequest) (osb.Response, error) {
	inst, err := b.bindableInstance(ctx, req.InstanceID)
	if err != nil {
		return osb.Response{}, err
	}
	if body.ServiceID != inst.serviceID || body.PlanID != inst.planID {
		return osb.Response{}, osb.Errorf(http.StatusBadRequest, "", "instance %s is of another service or plan", inst.id)
	}
	existing, err := b.getBinding(ctx, inst.id, req.BindingID)
	if err != nil {
		return osb.Response{}, err
	}
	if existing != nil {
		if !sameParameters(existing.parameters, body.Parameters) || existing.target != bindingTarget(body) {
			return osb.Response{}, osb.Errorf(http.StatusConflict, "", "binding %s exists with other parameters or for another application", req.BindingID)
		}
		// Make sure the role exists: an earlier attempt may have stopped before it.
		if err := b.createLoginRole(ctx, inst, string(existing.secret.Data["username"]), string(existing.secret.Data["password"])); err != nil {
			return osb.Response{}, err
		}
		return osb.Response{Status: http.StatusOK, Body: osb.BindingResponse{Credentials: b.credentials(inst.id, existing.secret)}}, nil
	}
	secret, err := b.bindingRecord(inst, req.BindingID, body)
	if err != nil {
		return osb.Response{}, err
	}
	if err := b.client.Create(ctx, secret); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return osb.Response{}, osb.Errorf(http.StatusUnprocessableEntity, osb.ErrConcurrencyError, "binding %s is being created by another request", req.BindingID)
		}
		return osb.Response{}, fmt.Errorf("recording binding %s: %w", req.BindingID, err)
	}
	if err := b.createLoginRole(ctx, inst, string(secret.Data["username"]), string(secret.Data["password"])); err != nil {
		if delErr := b.client.Delete(context.WithoutCancel(ctx), secret); delErr != nil && !apierrors.IsNotFound(delErr) {
			b.log.Error(delErr, "Removing the record of a failed binding failed", "binding", req.BindingID)
		}
		return osb.Response{}, err
	}
	b.log.Info("Bound", "instance", inst.id, "binding", req.BindingID, "role", string(secret.Data["username"]))
	return osb.Response{Status: http.StatusCreated, Body: osb.BindingResponse{Credentials: b.credentials(inst.id, secret)}}, nil
}

func (b *Broker) bindingRecord(inst *instance, bindingID string, body *osb.BindRequest) (*corev1.Secret, error) {
	paramsJSON, err := json.Marshal(body.Parameters)
	if err != nil {
		return nil, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: bindingName(inst.id, bindingID), Namespace: b.namespace,
			Labels: map[string]string{LabelManagedBy: managedBy, LabelInstance: hashID(inst.id),
				labelBinding: hashID(inst.id + "/" + bindingID), labelRecord: recordBinding},
			Annotations: map[string]string{annInstanceID: inst.id, annBindingID: bindingID, annParameters: string(paramsJSON),
				annTarget: bindingTarget(body)},
		},
		Data: map[string][]byte{"username": []byte(bindingUser(inst.id, bindingID)), "password": []byte(randomHex(24))},
	}
	// Owned by the instance's record: deprovisioning removes its bindings' records.
	if err := controllerutil.SetOwnerReference(inst.secret, secret, b.client.Scheme()); err != nil {
		return nil, err
	}
	return secret, nil
}

// Unbind drops the binding's role (its sessions ended, its objects given to the group
// role), then its record.
func (b *Broker) Unbind(ctx context.Context, req *osb.Request, _ osb.IDs) (osb.Response, error) {
	bd, err := b.getBinding(ctx, req.InstanceID, req.BindingID)
	if err != nil {
		return osb.Response{}, err
	}
	if bd == nil {
		return osb.Response{}, osb.Errorf(http.StatusGone, "", "binding %s does not exist", req.BindingID)
	}
	inst, err := b.bindableInstance(ctx, req.InstanceID)
	if err != nil {
		return osb.Response{}, err
	}
	if err := b.dropLoginRole(ctx, inst, string(bd.secret.Data["username"])); err != nil {
		return osb.Response{}, err
	}
	if err := b.client.Delete(ctx, bd.secret); err != nil && !apierrors.IsNotFound(err) {
		return osb.Response{}, fmt.Errorf("deleting the record of binding %s: %w", req.BindingID, err)
	}
	b.log.Info("Unbound", "instance", inst.id, "binding", req.BindingID)
	return osb.Response{Status: http.StatusOK, Body: osb.OperationResponse{}}, nil
}

// GetBinding returns a binding's credentials and parameters.
func (b *Broker) GetBinding(ctx context.Context, req *osb.Request) (osb.Response, error) {
	bd, err := b.getBinding(ctx, req.InstanceID, req.BindingID)
	if err != nil {
		return osb.Response{}, err
	}
	if bd == nil {
		return osb.Response{}, osb.Errorf(http.StatusNotFound, "", "binding %s does not exist", req.BindingID)
	}
	return osb.Response{Status: http.StatusOK, Body: osb.BindingResponse{
		Credentials: b.credentials(req.InstanceID, bd.secret), Parameters: bd.parameters}}, nil
}

// BindingLastOperation answers for bindings, which are made and revoked synchronously:
// an existing binding's operation succeeded; a missing one is 404 (no asynchronous
// unbinding ever finished, which alone would be 410).
func (b *Broker) BindingLastOperation(ctx context.Context, req *osb.Request, _ osb.OperationQuery) (osb.Response, error) {
	bd, err := b.getBinding(ctx, req.InstanceID, req.BindingID)
	if err != nil {
		return osb.Response{}, err
	}
	if bd == nil {
		return osb.Response{}, osb.Errorf(http.StatusNotFound, "", "binding %s does not exist", req.BindingID)
	}
	return osb.Response{Status: http.StatusOK, Body: osb.LastOperationResponse{State: osb.StateSucceeded}}, nil
}

// Run advances every operation in progress and removes expired tombstones every
// interval until ctx ends, so operations finish (and a restarted broker resumes them)
// even when no platform polls.
func (b *Broker) Run(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		b.resync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (b *Broker) resync(ctx context.Context) {
	var records corev1.SecretList
	if err := b.client.List(ctx, &records, client.InNamespace(b.namespace), client.MatchingLabels{labelRecord: recordInstance}); err != nil {
		b.log.Error(err, "Listing instances failed")
		return
	}
	for i := range records.Items {
		inst, err := decodeInstance(&records.Items[i])
		if err != nil {
			b.log.Error(err, "Skipping a damaged record", "record", records.Items[i].Name)
			continue
		}
		if inst.op.State == osb.StateInProgress {
			if err := b.advance(ctx, inst); err != nil {
				b.log.Error(err, "Advancing an operation failed", "instance", inst.id, "operation", inst.op.ID)
			}
		}
	}
	var tombs corev1.ConfigMapList
	if err := b.client.List(ctx, &tombs, client.InNamespace(b.namespace), client.MatchingLabels{labelRecord: recordTombstone}); err != nil {
		b.log.Error(err, "Listing tombstones failed")
		return
	}
	for i := range tombs.Items {
		expires, err := time.Parse(time.RFC3339, tombs.Items[i].Data["expires"])
		if err == nil && time.Now().Before(expires) {
			continue
		}
		if err := b.client.Delete(ctx, &tombs.Items[i]); err != nil && !apierrors.IsNotFound(err) {
			b.log.Error(err, "Removing an expired tombstone failed", "tombstone", tombs.Items[i].Name)
		}
	}
}
